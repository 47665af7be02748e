/**
 * A full disk under a live task's log, seen from the core: the shim keeps
 * the container running when a log write fails but does not report it yet,
 * so the core reads statfs of the log's directory. No free block there means
 * the shim's writes are failing (or about to).
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';

export const LOG_NO_SPACE = 'log: no space left';

/** LOG_NO_SPACE when the filesystem holding log has no block left for it, else "". */
export function logFault(log: string): string {
  try {
    const st = statfsSync(dirname(log));
    return st.bavail === 0 ? LOG_NO_SPACE : '';
  } catch {
    // a log directory that cannot be read is not a full disk; the shim reports its own open failure
    return '';
  }
}
