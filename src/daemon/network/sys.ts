/**
 * The host tools networking drives (iproute2, util-linux's unshare and
 * nsenter): each a short child process, so nothing ever enters another
 * namespace on Node's own threads. Synchronous: each takes a few ms and a
 * change must be whole before the call that asked for it returns.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { BerthError } from '../../common/errors.js';

export function run(cmd: string, args: readonly string[], what: string, input?: string): string {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.error) throw new BerthError('unavailable', `${what}: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new BerthError('internal', `${what}: ${cmd}: ${(r.stderr || r.stdout).trim() || `exit ${r.status}`}`);
  return r.stdout;
}

/** `ip -batch -` on the host, or inside the namespace at netns (through nsenter). */
export function ipBatch(lines: readonly string[], what: string, netns?: string): void {
  if (lines.length === 0) return;
  const input = lines.join('\n') + '\n';
  if (netns) run('nsenter', [`--net=${netns}`, 'ip', '-batch', '-'], what, input);
  else run('ip', ['-batch', '-'], what, input);
}

/** `ip -json <args>` parsed. */
export function ipJson<T>(args: readonly string[], what: string): T {
  const out = run('ip', ['-json', ...args], what);
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}

export function sysctl(key: string, value: string): void {
  try { writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, value); } catch (err) {
    throw new BerthError('internal', `cannot set ${key}=${value}: ${(err as Error).message}`);
  }
}
