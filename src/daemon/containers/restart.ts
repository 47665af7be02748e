/**
 * Restart policies as dockerd applies them: whether an exit is followed by
 * a start, and after how long — 100 ms doubling at each restart, back to
 * 100 ms once a run has lasted 10 s, capped at one minute.
 */
import { invalidArgument } from '../../common/errors.js';
import type { RestartPolicy } from './types.js';

export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
/** a run at least this long resets the backoff */
export const BACKOFF_RESET_MS = 10_000;

export function validatePolicy(p: RestartPolicy | undefined, autoRemove: boolean): void {
  if (p === undefined) return;
  const name = p.Name ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name)) throw invalidArgument(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  const max = p.MaximumRetryCount ?? 0;
  if (max < 0) throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
  if (max > 0 && name !== 'on-failure') throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (autoRemove && name !== '' && name !== 'no') throw invalidArgument("can't create 'AutoRemove' container with restart policy");
}

export interface ExitFacts {
  policy: RestartPolicy | undefined;
  exitCode: number;
  /** the user stopped or killed it */
  stoppedByUser: boolean;
  restartCount: number;
}

/** Whether the container is started again after this exit. */
export function shouldRestart(f: ExitFacts): boolean {
  if (f.stoppedByUser) return false;
  switch (f.policy?.Name ?? '') {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure': {
      const max = f.policy?.MaximumRetryCount ?? 0;
      return f.exitCode !== 0 && (max === 0 || f.restartCount < max);
    }
    default:
      return false;
  }
}

/** The delay before the next restart, given the last one and how long the run lasted. */
export function nextBackoff(previousMs: number, runMs: number): number {
  if (runMs >= BACKOFF_RESET_MS || previousMs === 0) return BACKOFF_START_MS;
  return Math.min(previousMs * 2, BACKOFF_MAX_MS);
}

/** Whether a container is started when berthd comes up (after its own restart or a host reboot). */
export function restartOnDaemonStart(policy: RestartPolicy | undefined, stoppedByUser: boolean): boolean {
  const name = policy?.Name ?? '';
  // always: even when stopped by hand (Docker's documented behaviour); unless-stopped: only when not
  return name === 'always' || (name === 'unless-stopped' && !stoppedByUser);
}
