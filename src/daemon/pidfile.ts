/**
 * The pid file: written at start, removed at a clean stop. A file naming a
 * live berthd means another daemon owns this state, and we refuse to start
 * (dockerd's rule); a stale one (dead pid, or a pid reused by another
 * program) is replaced.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { failedPrecondition } from '../common/errors.js';

function commandOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch { return undefined; }
}

/** The pid in the file when it names a live berthd other than us. */
export function livePid(path: string): number | undefined {
  let text: string;
  try { text = readFileSync(path, 'utf8').trim(); } catch { return undefined; }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  const cmd = commandOf(pid);
  return cmd !== undefined && cmd.includes('berthd') ? pid : undefined;
}

export function writePidfile(path: string): void {
  const other = livePid(path);
  if (other !== undefined) {
    throw failedPrecondition(`pid file found, ensure berthd is not running or delete ${path} (pid ${other} is alive)`);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, `${process.pid}`);
  renameSync(`${path}.tmp`, path);
}

/** Removes the file if it is still ours. */
export function removePidfile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true });
  } catch { /* already gone */ }
}
