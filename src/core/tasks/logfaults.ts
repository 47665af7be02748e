/**
 * Log faults of live tasks: the shim counts log entries it could not write
 * (LOG_ERRORS, with the last error as LOG_ERROR) and that count is the main
 * signal. A count that grew since the last look means the log is failing.
 * The fault lasts while writes keep failing; it is over once no new error
 * was seen for a while and the log's filesystem has room again (statfs),
 * since a container that writes rarely gives no other sign of recovery.
 * When the shim cannot be asked, statfs alone decides (logspace.ts).
 */
import { LOG_NO_SPACE, logFault } from './logspace.js';

/** How long after the last new error a fault is kept even when statfs shows room. */
const QUIET_MS = 1500;

export interface ShimLogView {
  logErrors: number;
  logError?: string;
}

interface Seen {
  count: number;
  lastErrorAt: number;
  fault: string;
}

/** The reason for a shim's log error message: the full-disk one keeps its short form. */
export function faultReason(logError: string | undefined): string {
  if (logError === undefined || /no space left/i.test(logError)) return LOG_NO_SPACE;
  return `log: ${logError.replace(/^cannot write log \S+: /, '')}`;
}

export interface FaultChange {
  fault: string;
  /** the fault before this look, when it changed */
  before?: string;
}

export class LogFaults {
  private readonly seen = new Map<string, Seen>();

  /** The current fault of the task keyed k ("" when none), from the shim's view or statfs. */
  look(k: string, log: string, shim: ShimLogView | undefined, now = Date.now()): FaultChange {
    const prev = this.seen.get(k) ?? { count: 0, lastErrorAt: 0, fault: '' };
    let next: Seen;
    if (shim === undefined) {
      next = { ...prev, fault: logFault(log) };
    } else if (shim.logErrors > prev.count) {
      next = { count: shim.logErrors, lastErrorAt: now, fault: faultReason(shim.logError) };
    } else {
      const quiet = now - prev.lastErrorAt >= QUIET_MS;
      const full = logFault(log) !== '';
      next = { count: shim.logErrors, lastErrorAt: prev.lastErrorAt, fault: prev.fault !== '' && (!quiet || full) ? prev.fault : '' };
    }
    this.seen.set(k, next);
    return next.fault === prev.fault ? { fault: next.fault } : { fault: next.fault, before: prev.fault };
  }

  forget(k: string): void {
    this.seen.delete(k);
  }
}
