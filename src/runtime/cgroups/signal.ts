/** Signalling the processes of a cgroup, shared by both drivers. */
import { failedPrecondition, wrap } from '../../common/errors.js';
import { sleepMs } from './files.js';

/** Sends signal to each pid; a process that has already gone is not an error. */
export function killPids(pids: number[], signal: number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw wrap(`cannot signal process ${pid}`, err);
    }
  }
}

/** Waits until list() is empty (killed processes leave the cgroup once reaped or exited). */
export function waitUntilEmpty(list: () => number[], what: string, timeoutMs = 5000): void {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    const left = list();
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      throw failedPrecondition(`cannot empty cgroup ${what}: processes ${left.join(', ')} are still in it after ${timeoutMs / 1000}s`);
    }
    sleepMs(wait);
  }
}
