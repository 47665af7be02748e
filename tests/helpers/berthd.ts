/**
 * berthd processes for integration tests: each on its own temp socket,
 * data-root and exec-root (so its core, started by berthd, is private to
 * the test), awaited until /_ping answers; the core it started is found by
 * its exec-root and killed at the end.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { networkInstance } from '../../src/daemon/network/setup.js';
import { liveMatching } from './core.js';
import { REPO, isRoot } from './runtime.js';

export const berthdBin = join(REPO, 'bin', 'berthd');
export const DOCKER = '/usr/local/bin/docker';
export const skipBerthd = !isRoot || !existsSync(berthdBin) || !existsSync(join(REPO, 'bin', 'berth-core')) ? 'needs root and npm run build' : false;

export interface Berthd {
  proc: ChildProcess;
  sock: string;
  layout: Layout;
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
  return { proc, sock: l.sock, layout: l, exited, stderr: () => stderr };
}

export interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

export function call(sock: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, agent: false, method, path, headers }, (res) => {
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

/**
 * Stops berthd (SIGTERM by default) and, once it is gone, removes what its
 * network instance left in the kernel: nothing restarts a test's berthd, so
 * a kill -9 would otherwise leave its bridges, tables and veths on the host.
 * After a SIGTERM with no container namespace alive, berthd itself must have
 * left nothing: anything found then is a leak, cleaned and then reported.
 */
export async function stop(b: Berthd, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (b.proc.exitCode === null && b.proc.signalCode === null) b.proc.kill(signal);
  const code = await b.exited;
  const left = networkLeftovers(b.layout);
  const held = left.netns.filter(nsHeld);
  cleanNetwork(left);
  const leaked = [...left.netns.filter((n) => !held.includes(n)).map((n) => `netns ${n}`),
    ...(held.length === 0 ? [...left.bridges.map((x) => `bridge ${x}`), ...left.tables.map((x) => `table ${x}`), ...left.veths.map((x) => `veth ${x}`)] : [])];
  if (signal === 'SIGTERM' && code === 0 && leaked.length > 0) throw new Error(`berthd left network objects behind after SIGTERM: ${leaked.join(', ')}`);
  return code;
}

/** The kernel objects of one berthd's network instance (by its exec-root and state DB). */
export interface NetworkLeftovers { bridges: string[]; tables: string[]; veths: string[]; netns: string[] }

const linkExists = (name: string): boolean => existsSync(`/sys/class/net/${name}`);

function masterOf(link: string): string {
  try { return /INTERFACE=(\S+)/.exec(readFileSync(`/sys/class/net/${link}/master/uevent`, 'utf8'))?.[1] ?? ''; } catch { return ''; }
}

/** Bridges and veths the instance's state DB names (user networks' bridges, endpoints' veths). */
function recorded(dataRoot: string): { bridges: string[]; veths: string[] } {
  const file = join(dataRoot, 'daemon', 'state.db');
  if (!existsSync(file)) return { bridges: [], veths: [] };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rec = (sql: string): Record<string, unknown>[] => {
      try { return (db.prepare(sql).all() as { record: string }[]).map((r) => JSON.parse(r.record) as Record<string, unknown>); } catch { return []; }
    };
    return { bridges: rec('SELECT record FROM networks').map((n) => String(n.bridge ?? '')).filter(Boolean), veths: rec('SELECT record FROM net_endpoints').map((e) => String(e.veth ?? '')).filter(Boolean) };
  } finally { db.close(); }
}

export function networkLeftovers(l: Layout): NetworkLeftovers {
  const inst = networkInstance(l.execRoot);
  const rec = recorded(l.dataRoot);
  const bridges = [...new Set([inst.bridge, ...rec.bridges])].filter(linkExists);
  const listed = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout ?? '';
  const tables = [`inet ${inst.table}`, `ip ${inst.table}-nat`, `bridge ${inst.table}`].filter((t) => listed.split('\n').includes(`table ${t}`));
  const links = existsSync('/sys/class/net') ? readdirSync('/sys/class/net') : [];
  const veths = [...new Set([...rec.veths.filter(linkExists), ...links.filter((n) => n.startsWith('vb') && bridges.includes(masterOf(n)))])];
  const dir = join(l.execRoot, 'netns');
  const netns = existsSync(dir) ? readdirSync(dir).map((n) => join(dir, n)) : [];
  return { bridges, tables, veths, netns };
}

/** A namespace file some live process is in (a container still running). */
function nsHeld(file: string): boolean {
  let ino: number;
  try { ino = statSync(file).ino; } catch { return false; }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try { if (statSync(`/proc/${pid}/ns/net`).ino === ino && ino !== statSync('/proc/self/ns/net').ino) return true; } catch { /* gone */ }
  }
  return false;
}

export function cleanNetwork(left: NetworkLeftovers): void {
  for (const v of left.veths) spawnSync('ip', ['link', 'del', v]);
  for (const br of left.bridges) spawnSync('ip', ['link', 'del', br]);
  for (const t of left.tables) spawnSync('nft', ['delete', 'table', ...t.split(' ')]);
  for (const n of left.netns) { spawnSync('umount', ['-l', n]); rmSync(n, { force: true }); }
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

/** `docker args` against sock, which must exit 0 (the assertion names the command and its stderr): its stdout. */
export function dockerOk(sock: string, args: string[]): string {
  const r = docker(sock, args);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A busybox root filesystem (the host's static busybox and every applet
 * linked to it) as a tar for `docker import`, with `files` (path → text)
 * written into it; made and removed under dir.
 */
export function busyboxTar(dir: string, files: Record<string, string> = {}): string {
  const root = join(dir, 'rootfs');
  for (const sub of ['bin', 'tmp', 'etc', 'root']) mkdirSync(join(root, sub), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n')) {
    if (a !== '' && a !== 'busybox') symlinkSync('busybox', join(root, 'bin', a));
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const tar = join(dir, 'busybox.tar');
  const r = spawnSync('tar', ['-C', root, '-cf', tar, '.'], { encoding: 'utf8' });
  rmSync(root, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`tar of the busybox rootfs failed: ${r.stderr}`);
  return tar;
}

/**
 * Ends a test's berthd: its containers removed, berthd stopped, its core
 * killed, every mount under dir and the exec root undone (deepest first),
 * both directories removed. Returns the processes still naming the test's
 * directory (the caller asserts there are none).
 */
export async function teardownBerthd(b: Berthd, l: Layout, dir: string): Promise<number[]> {
  const ids = docker(b.sock, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) docker(b.sock, ['rm', '-f', ...ids]);
  await stop(b);
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  const under = (m: string): boolean => [dir, l.execRoot].some((d) => m === d || m.startsWith(`${d}/`));
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((x) => x.split(' ')[1] ?? '').filter(under).sort().reverse();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(l.execRoot, { recursive: true, force: true });
  return leftovers(l);
}
