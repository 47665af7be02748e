/**
 * berthd processes for integration tests: each on its own temp socket,
 * data-root and exec-root (so its core, started by berthd, is private to
 * the test), awaited until /_ping answers; the core it started is found by
 * its exec-root and killed at the end.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { liveMatching } from './core.js';
import { REPO, isRoot } from './runtime.js';

export const berthdBin = join(REPO, 'bin', 'berthd');
export const DOCKER = '/usr/local/bin/docker';
export const skipBerthd = !isRoot || !existsSync(berthdBin) || !existsSync(join(REPO, 'bin', 'berth-core')) ? 'needs root and npm run build' : false;

export interface Berthd {
  proc: ChildProcess;
  sock: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

export interface Layout { dir: string; sock: string; dataRoot: string; execRoot: string }

export function layout(dir: string): Layout {
  return { dir, sock: join(dir, 'berthd.sock'), dataRoot: join(dir, 'data'), execRoot: join(dir, 'exec') };
}

export function spawnBerthd(l: Layout, extra: string[] = []): Berthd {
  const proc = spawn(berthdBin, ['-H', `unix://${l.sock}`, '--data-root', l.dataRoot, '--exec-root', l.execRoot, ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { proc, sock: l.sock, exited, stderr: () => stderr };
}

export interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

export function call(sock: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Resolves once berthd answers /_ping; rejects with its stderr if it exits first. */
export async function ready(b: Berthd, timeoutMs = 30_000): Promise<Berthd> {
  const deadline = Date.now() + timeoutMs;
  let code: number | null | undefined;
  void b.exited.then((c) => { code = c; });
  while (Date.now() < deadline) {
    if (code !== undefined) throw new Error(`berthd exited ${code}: ${b.stderr()}`);
    try {
      if ((await call(b.sock, 'GET', '/_ping')).status === 200) return b;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`berthd did not answer within ${timeoutMs} ms: ${b.stderr()}`);
}

export async function stop(b: Berthd, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (b.proc.exitCode === null && b.proc.signalCode === null) b.proc.kill(signal);
  return b.exited;
}

/** Pids of the berth-core serving this layout (started by berthd). */
export function corePids(l: Layout): number[] {
  return liveMatching(`berth-core.cjs --address ${join(l.execRoot, 'core.sock')}`);
}

/** Every live process whose command line names the test's directory. */
export function leftovers(l: Layout): number[] {
  return liveMatching(l.dir);
}

export function docker(sock: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(DOCKER, ['-H', `unix://${sock}`, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
}
