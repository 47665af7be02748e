/**
 * `berth-runtime spec [--bundle DIR] [--rootless]`: writes a default
 * config.json into the bundle (the caller's directory by default), like
 * `runc spec`, and refuses to overwrite one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { BerthError, wrap } from '../../common/errors.js';
import type { CommandContext } from './context.js';
import { callerPath } from './context.js';
import { stringifyJson } from '../spec/json.js';
import { specTemplate } from '../../common/oci-template.js';

export interface SpecOptions {
  bundle?: string;
  rootless?: boolean;
  /**
   * The uid/gid --rootless maps to root; by default the caller's effective
   * ids, read from /proc/<caller pid>/status (as runc uses its own euid).
   */
  uid?: number;
  gid?: number;
}

/** The effective uid and gid of the calling process (0 when unreadable). */
function callerIds(ctx: CommandContext): { uid: number; gid: number } {
  try {
    const status = readFileSync(`/proc/${ctx.callerPid}/status`, 'utf8');
    // "Uid:\treal\teffective\tsaved\tfs"
    const effective = (key: string): number => Number(new RegExp(`^${key}:\\s+\\d+\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { uid: effective('Uid'), gid: effective('Gid') };
  } catch {
    return { uid: 0, gid: 0 };
  }
}

export async function run(ctx: CommandContext, opts: SpecOptions = {}): Promise<number> {
  const dir = callerPath(ctx, opts.bundle ?? '.');
  const file = `${dir.replace(/\/+$/, '')}/config.json`;
  const ids = opts.rootless && (opts.uid === undefined || opts.gid === undefined) ? callerIds(ctx) : { uid: 0, gid: 0 };
  const spec = specTemplate({ rootless: opts.rootless, uid: opts.uid ?? ids.uid, gid: opts.gid ?? ids.gid });
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
