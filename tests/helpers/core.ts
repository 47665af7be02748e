/**
 * berth-core processes for integration tests: spawned on temp dirs, awaited
 * until every service answers, killed with SIGKILL; and the process checks
 * the core suites share.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreClient } from '../../src/core/client.js';
import { REPO, isRoot } from './runtime.js';

export const coreBin = join(REPO, 'bin', 'berth-core');
export const RUNC = '/usr/sbin/runc';
export const skip = !isRoot || !existsSync(coreBin) || !existsSync(join(REPO, 'bin', 'berth-shim')) || !existsSync(RUNC) ? 'needs root, runc and npm run build' : false;

export interface Core { proc: ChildProcess; exited: Promise<number | null>; stderr: () => string }

export function spawnCore(dir: string, address: string, extraEnv: Record<string, string> = {}): Core {
  const proc = spawn(coreBin, ['--address', address, '--root', join(dir, 'root'), '--state', join(dir, 'state'),
    '--config', join(dir, 'config.json'), '--log-file', join(dir, 'core.log'), '--log-level', 'debug'],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...extraEnv } });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, exited, stderr: () => stderr };
}

export async function ready(core: Core, address: string): Promise<Core> {
  const c = new CoreClient(address);
  try {
    await Promise.race([c.waitForReady(15_000), core.exited.then((code) => { throw new Error(`berth-core exited ${code}: ${core.stderr()}`); })]);
  } finally { c.close(); }
  return core;
}

export async function kill9(core: Core): Promise<void> {
  if (core.proc.exitCode === null && core.proc.signalCode === null) core.proc.kill('SIGKILL');
  await core.exited;
}

export function alive(pid: number): boolean {
  try { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); return s.slice(s.lastIndexOf(')') + 2)[0] !== 'Z'; } catch { return false; }
}

export function liveMatching(needle: string): number[] {
  const r = spawnSync('pgrep', ['-f', needle], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number).filter((p) => p !== process.pid && alive(p));
}
