/** What the runtime reads about processes from /proc. */
import { readFileSync } from 'node:fs';

export interface ProcStat {
  state: string;
  ppid: number;
  startTime: number;
}

/** Parses /proc/<pid>/stat; undefined when the process does not exist. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return undefined; }
  // the command name may contain spaces and parentheses: split after the last ')'
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

/**
 * True when `pid` is still the process that was started at `startTime`
 * (pids are reused) and has not exited (a zombie has exited).
 */
export function isAlive(pid: number, startTime: number): boolean {
  if (pid <= 0) return false;
  const st = procStat(pid);
  if (!st) return false;
  if (startTime && st.startTime !== startTime) return false;
  return st.state !== 'Z' && st.state !== 'X';
}

export async function waitGone(pid: number, startTime: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!isAlive(pid, startTime)) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return !isAlive(pid, startTime);
}
