/**
 * `berth-runtime spec [--bundle DIR] [--rootless]`: writes a default
 * config.json into the bundle (the caller's directory by default), like
 * `runc spec`, and refuses to overwrite one.
 */
import { writeFileSync } from 'node:fs';
import { BerthError, wrap } from '../../common/errors.js';
import type { CommandContext } from './context.js';
import { callerPath } from './context.js';
import { stringifyJson } from '../spec/json.js';
import { specTemplate } from '../spec/template.js';

export interface SpecOptions {
  bundle?: string;
  rootless?: boolean;
  /**
   * The caller's effective uid/gid, mapped to root by --rootless. The
   * command line passes the front's credentials; 0 when not given (the
   * planner serves root only).
   */
  uid?: number;
  gid?: number;
}

export async function run(ctx: CommandContext, opts: SpecOptions = {}): Promise<number> {
  const dir = callerPath(ctx, opts.bundle ?? '.');
  const file = `${dir.replace(/\/+$/, '')}/config.json`;
  const spec = specTemplate({ rootless: opts.rootless, uid: opts.uid, gid: opts.gid });
  try {
    // 'wx': create only, so a config written meanwhile is never clobbered
    writeFileSync(file, stringifyJson(spec, '\t'), { flag: 'wx', mode: 0o666 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // runc's words, which scripts and tests look for
    if (code === 'EEXIST') throw new BerthError('already-exists', 'File config.json exists. Remove it first', { cause: err, errno: code });
    throw wrap(`cannot write ${file}`, err);
  }
  return 0;
}
