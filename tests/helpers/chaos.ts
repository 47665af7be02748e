/**
 * The chaos tier's tools: a busybox image, clients of one berthd (the
 * docker CLI or raw HTTP, both async so several run at once), the pids a
 * chaos loop kills (found through /proc by cmdline and exec-root), and the
 * audit of what a berthd instance left in the kernel and on disk.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { decodeAll } from '../../src/common/stdcopy.js';
import { networkInstance } from '../../src/daemon/network/setup.js';
import { DOCKER, type Layout } from './berthd.js';

/** A tar of a busybox root filesystem (for `docker import`). */
export function busyboxTar(dir: string): string {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'root']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  const applets = spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
  const tar = join(dir, 'busybox.tar');
  if (spawnSync('tar', ['-C', root, '-cf', tar, '.']).status !== 0) throw new Error('cannot build the busybox tar');
  rmSync(root, { recursive: true, force: true });
  return tar;
}

/** What one call got: a value, or a failure that says whether it was the transport (or the daemon missing its core). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; transient: boolean; status: number; message: string };

/**
 * Failures a user would retry: nothing listening, the connection cut, a
 * berthd whose core is away for the moment, an exec the restarted berthd forgot, or the CLI's default API version
 * (its /_ping went unanswered while berthd was down, so it did not negotiate).
 */
export function transient(message: string): boolean {
  // "No such exec instance": execs live in berthd's memory (as dockerd's), so one started just
  // before a kill -9 of berthd is unknown to the next berthd; the user runs the exec again
  return /No such exec instance|ECONNREFUSED|ENOENT|ECONNRESET|EPIPE|socket hang up|timed out|Cannot connect to the Docker daemon|error during connect|connection reset|connection refused|unexpected EOF|: EOF|cannot reach berth-core|berth-core.*(unavailable|not ready)|UNAVAILABLE|Connection dropped|No connection established|already in progress|received 50[23]|is too new/i.test(message);
}

export interface Http { status: number; body: Buffer }

export function http(sock: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Http> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath: sock, agent: false, method, path: `/v1.45${path}`, timeout: timeoutMs, headers: data ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(data);
  });
}

/** An HTTP call as an Outcome: 2xx/304 ok, a Docker error message otherwise. */
export async function api(sock: string, method: string, path: string, body?: unknown, timeoutMs?: number): Promise<Outcome<Http>> {
  try {
    const r = await http(sock, method, path, body, timeoutMs);
    if (r.status < 300 || r.status === 304) return { ok: true, value: r };
    let message = r.body.toString();
    try { message = String((JSON.parse(message) as { message?: unknown }).message ?? message); } catch { /* not JSON */ }
    return { ok: false, transient: (r.status >= 500 || r.status === 409) && transient(message), status: r.status, message };
  } catch (err) {
    return { ok: false, transient: true, status: 0, message: (err as Error).message };
  }
}

/**
 * An attached stream's output, or the failure it reported: berthd ends a stream cut under it
 * (its core went away) with a system-error frame, as dockerd does.
 */
export function streamOutput(body: Buffer): Outcome<string> {
  const frames = decodeAll(body);
  const err = frames.find((f) => f.stream === 3);
  if (err) {
    const message = `error from daemon in stream: ${err.payload.toString()}`;
    return { ok: false, transient: transient(message), status: 0, message };
  }
  return { ok: true, value: frames.map((f) => f.payload.toString()).join('') };
}

/** Output frames of a stdcopy stream, stdout and stderr together. */
export function demux(body: Buffer): string {
  return decodeAll(body).map((f) => f.payload.toString()).join('');
}

/** The docker CLI against berthd, without blocking the event loop. */
export function cli(sock: string, args: string[], timeoutMs = 60_000): Promise<Outcome<string>> {
  return new Promise((resolve) => {
    const p = spawn(DOCKER, ['-H', `unix://${sock}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true, value: out });
      else {
        // exit 255 with nothing on stderr: the CLI's StatusError -1, printed when it could not reach the
        // daemon after the stream (e.g. `docker exec` asking for the exit code while berthd restarts)
        const unreachable = code === 255 && err.trim() === '';
        const message = signal ? `timed out (${signal}): ${err}`
          : unreachable ? `exit 255 without an error: the daemon was unreachable after the stream (output: ${JSON.stringify(out)})`
            : err.trim() || `exit ${code} without an error, output ${JSON.stringify(out)}`;
        const status = /No such container|No such object/.test(message) ? 404 : /Conflict|already in use/.test(message) ? 409 : 0;
        resolve({ ok: false, transient: unreachable || transient(message), status, message });
      }
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The numbered lines of a chaos container's log: `line <n>` … and the `end <n>` its TERM trap writes. */
export interface LogCheck { last: number; end?: number; gaps: string[] }

export function checkLog(text: string): LogCheck {
  let last = 0;
  let end: number | undefined;
  const gaps: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^line (\d+)$/.exec(line);
    if (m) {
      const n = Number(m[1]);
      if (n !== last + 1) gaps.push(`line ${n} after ${last}`);
      last = n;
      continue;
    }
    const e = /^end (\d+)$/.exec(line);
    if (e) end = Number(e[1]);
    else if (line !== '') gaps.push(`unexpected ${JSON.stringify(line.slice(0, 80))}`);
  }
  return { last, end, gaps };
}

// ---- processes --------------------------------------------------------------

function cmdline(pid: string): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '); } catch { return ''; }
}

function comm(pid: string): string {
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; }
}

function live(pid: string): boolean {
  try { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); return s.slice(s.lastIndexOf(')') + 2)[0] !== 'Z'; } catch { return false; }
}

const pids = (): string[] => readdirSync('/proc').filter((p) => /^\d+$/.test(p));

/** The berth-shims of this instance: their sockets and state dirs are under its exec-root. */
export function shimPids(l: Layout): number[] {
  return pids().filter((p) => comm(p).startsWith('berth-shim') && cmdline(p).includes(l.execRoot) && live(p)).map(Number);
}

/** The berth-core of this instance (its --address is under the exec-root). */
export function corePid(l: Layout): number[] {
  return pids().filter((p) => cmdline(p).includes(`berth-core.cjs --address ${join(l.execRoot, 'core.sock')}`) && live(p)).map(Number);
}

// ---- leftovers -------------------------------------------------------------

const ID = /[0-9a-f]{64}/g;

/** Mount points under the instance's directory. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Every cgroup directory berth made for a container of berthd's namespace, by id (v1 controllers and unified). */
export function berthCgroups(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const ctl of readdirSync('/sys/fs/cgroup')) {
    let names: string[];
    try { names = readdirSync(join('/sys/fs/cgroup', ctl)); } catch { continue; }
    for (const n of names) {
      const m = /^berth-berthd-([0-9a-f]{64})$/.exec(n);
      if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), join('/sys/fs/cgroup', ctl, n)]);
    }
  }
  return out;
}

/** The nft rules of the instance's tables, one string (compared before and after). */
export function nftRules(l: Layout): string {
  const inst = networkInstance(l.execRoot);
  return [['inet', inst.table], ['ip', `${inst.table}-nat`], ['bridge', inst.table]]
    .map(([f, t]) => spawnSync('nft', ['-a', 'list', 'table', f!, t!], { encoding: 'utf8' }).stdout ?? '')
    // handles and counters change with every rule added and removed: compare the rules alone
    .join('').replace(/ # handle \d+/g, '').replace(/counter packets \d+ bytes \d+/g, 'counter');
}

/** Veths whose master is the instance's bridge. */
export function instanceVeths(l: Layout): string[] {
  const br = networkInstance(l.execRoot).bridge;
  if (!existsSync('/sys/class/net')) return [];
  return readdirSync('/sys/class/net').filter((n) => {
    try { return readFileSync(`/sys/class/net/${n}/master/uevent`, 'utf8').includes(`INTERFACE=${br}\n`); } catch { return false; }
  });
}

/** The 64-hex ids named under a directory's entries (one level), e.g. the core's per-container state dirs. */
export function idsIn(dir: string): string[] {
  try { return readdirSync(dir).flatMap((n) => n.match(ID) ?? []); } catch { return []; }
}

/** The ids in a set of strings. */
export function idsOf(strings: string[]): string[] {
  return [...new Set(strings.flatMap((s) => s.match(ID) ?? []))];
}
