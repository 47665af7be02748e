/** What every berth-vm command receives: the global flags and the caller's streams, parsed at the edge. */
import type { Logger } from '../common/log.js';

export interface VmContext {
  /** --root, absolute */
  root: string;
  systemdCgroup: boolean;
  cwd: string;
  log: Logger;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** the environment berth-vm was called with (BERTH_VM_* settings) */
  env: Record<string, string | undefined>;
}

export const callerPath = (ctx: VmContext, p: string): string => (p.startsWith('/') ? p : `${ctx.cwd.replace(/\/$/, '')}/${p}`);
