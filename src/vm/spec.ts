/** `spec` and `features`: the same as berth-runtime's, with berth-vm's name. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alreadyExists } from '../common/errors.js';
import { specTemplate } from '../common/oci-template.js';
import { features as runtimeFeatures } from '../runtime/spec/features.js';
import { callerPath, type VmContext } from './context.js';

export async function writeSpec(ctx: VmContext, bundle: string, rootless: boolean): Promise<number> {
  const file = join(callerPath(ctx, bundle), 'config.json');
  if (existsSync(file)) throw alreadyExists(`cannot write ${file}: file exists`);
  writeFileSync(file, `${JSON.stringify(specTemplate({ rootless, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }), null, '\t')}\n`);
  return 0;
}

export async function features(ctx: VmContext): Promise<number> {
  ctx.stdout.write(`${JSON.stringify(runtimeFeatures('berth-vm'), null, 2)}\n`);
  return 0;
}
