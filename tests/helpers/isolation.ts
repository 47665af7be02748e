/**
 * Isolation tests' helpers: the checker binary (tests/fixtures/checker)
 * compiled once per test file, bundles that carry it as /checker, a runner
 * that runs it under any runc-compatible runtime and parses what it saw, and
 * the few host-side views (mountinfo, /proc/PID/status) the tests compare
 * against. Everything made here is removed by `IsolationHarness.cleanup`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSeccompProfile } from '../../src/runtime/seccomp/default-profile.js';
import { makeBundle, removeBundle, type Bundle } from './bundle.js';
import { REPO, RUNTIME, Runtime, cgroupsNamed, type Result } from './runtime.js';

export interface RuntimeUnderTest { name: string; binary: string }

/** berth-runtime always; runc as the reference unless BERTH_ISOLATION_RUNTIMES says otherwise. */
export function runtimesUnderTest(): RuntimeUnderTest[] {
  const all: RuntimeUnderTest[] = [
    { name: 'berth', binary: RUNTIME },
    { name: 'runc', binary: '/usr/sbin/runc' },
  ];
  const wanted = (process.env.BERTH_ISOLATION_RUNTIMES ?? 'berth,runc').split(',').map((s) => s.trim());
  return all.filter((r) => wanted.includes(r.name) && (r.name === 'berth' || existsSync(r.binary)));
}

// ---------- the checker binary ----------

let checkerDir: string | undefined;

/** Compiles checker.c with gcc -static once; returns the binary's path. */
export function checkerBinary(): string {
  if (checkerDir) return join(checkerDir, 'checker');
  const dir = mkdtempSync(join(tmpdir(), 'berth-checker-'));
  const src = join(REPO, 'tests', 'fixtures', 'checker', 'checker.c');
  const r = spawnSync('gcc', ['-static', '-O2', '-Wall', '-o', join(dir, 'checker'), src], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot compile the checker: ${r.stderr}`);
  }
  checkerDir = dir;
  return join(dir, 'checker');
}

export function removeCheckerBinary(): void {
  if (checkerDir) rmSync(checkerDir, { recursive: true, force: true });
  checkerDir = undefined;
}

// ---------- what the checker prints ----------

export interface MountEntry { dev: string; root: string; point: string; options: string; fstype: string; source: string; super: string }
export interface Facts {
  pid: number; ppid: number; hostname: string;
  uid: number; euid: number; gid: number; egid: number;
  capInh: string; capPrm: string; capEff: string; capBnd: string; capAmb: string;
  seccomp: string; noNewPrivs: string; statusUid: string;
  cwd: { path: string; errno: string; link: string; resolvesHere: boolean };
  fds: { fd: number; target: string }[];
  mounts: MountEntry[];
}
export interface TryResult { ok: boolean; errno: string; errnoNumber: number; unknown?: boolean }
export type TryReport = Record<string, TryResult>;
export interface MaskedEntry { exists: boolean; type?: 'dir' | 'chr' | 'file' | 'other'; rdev?: string; entries?: number; bytes?: number }
export interface ExeSighting {
  pid: number; exe: string; dev: string; ino: number;
  pathErr: string; writeErr: string; reopened: boolean; reopenErr: string;
}

/** The last JSON line of a checker's stdout. */
export function parseChecker<T>(r: Result, what: string): T {
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`${what}: no JSON from the checker (exit ${r.code})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(line) as T;
}

// ---------- capabilities ----------

const CAP_NUMBERS: Readonly<Record<string, number>> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5,
  CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
};

/** The /proc/PID/status form (16 hex digits) of a set of capability names. */
export function capMask(names: readonly string[] | undefined): string {
  let m = 0n;
  for (const n of names ?? []) {
    const bit = CAP_NUMBERS[n];
    if (bit === undefined) throw new Error(`unknown capability ${n}`);
    m |= 1n << BigInt(bit);
  }
  return m.toString(16).padStart(16, '0');
}

// ---------- host-side views ----------

/** The host's own mount table (this test process's mount namespace). */
export function hostMountinfo(pid: number | 'self' = 'self'): MountEntry[] {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [pre, post = ''] = line.split(' - ');
    const f = pre.split(' ');
    const [fstype = '', source = '', sup = ''] = post.split(' ');
    return { dev: f[2], root: f[3], point: f[4], options: f[5], fstype, source, super: sup };
  });
}

/** A field of /proc/PID/status, e.g. "Uid" → "100000\t100000\t100000\t100000". */
export function procStatus(pid: number, key: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${key}:`));
  return line ? line.slice(key.length + 1).trim() : '';
}

export function sha256(path: string): string {
  const r = spawnSync('sha256sum', [path], { encoding: 'utf8' });
  return r.stdout.split(' ')[0];
}

// ---------- bundles and runs ----------

/** Docker-like default seccomp profile for the bundle's bounding set, into linux.seccomp. */
export function applyDefaultSeccomp(b: Bundle): void {
  const caps = (b.config.process.capabilities?.bounding ?? []) as string[];
  b.config.linux.seccomp = defaultSeccompProfile({ capabilities: caps });
  b.write();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One runtime under test, its state root, and everything the tests made
 * with it; `finish` deletes a container and asserts nothing of it is left.
 */
export class IsolationHarness {
  readonly rt: Runtime;
  private readonly bundles: Bundle[] = [];
  private n = 0;

  constructor(readonly runtime: RuntimeUnderTest) {
    this.rt = new Runtime(runtime.binary);
  }

  newId(): string { return `berth-iso-${this.runtime.name}-${process.pid}-${++this.n}`; }

  /** A busybox bundle with /checker, running `checker ...args`. */
  bundle(args: string[]): Bundle {
    const b = makeBundle(['/checker', ...args], 'berth-iso-');
    copyFileSync(checkerBinary(), join(b.rootfs, 'checker'));
    chmodSync(join(b.rootfs, 'checker'), 0o755);
    this.bundles.push(b);
    return b;
  }

  /** `run` in the foreground; the checker's output comes back on the pipes. */
  run(b: Bundle, id = this.newId(), extraFds: number[] = []): Result {
    b.write();
    if (extraFds.length === 0) return this.rt.run(['run', '--bundle', b.dir, id]);
    // Hand the runtime more open descriptors than 0-2, as a careless caller would.
    const r = spawnSync(this.runtime.binary, ['--root', this.rt.root, 'run', '--bundle', b.dir, id], {
      encoding: 'utf8', timeout: 30_000, stdio: ['pipe', 'pipe', 'pipe', ...extraFds],
    });
    return { code: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** run -d with the container's stdio on files in the bundle (pipes would hold spawnSync open). */
  runDetached(b: Bundle, id: string): Result {
    return this.withFileStdio(b, id, ['run', '-d', '--bundle', b.dir, id]);
  }

  /** create, likewise: the waiting init holds the stdio it was given. */
  create(b: Bundle, id: string): Result {
    return this.withFileStdio(b, id, ['create', '--bundle', b.dir, id]);
  }

  private withFileStdio(b: Bundle, id: string, args: string[]): Result {
    b.write();
    const outPath = join(b.dir, `${id}.out`);
    const errPath = join(b.dir, `${id}.err`);
    const out = openSync(outPath, 'w');
    const err = openSync(errPath, 'w');
    try {
      const r = spawnSync(this.runtime.binary, ['--root', this.rt.root, ...args], { timeout: 30_000, stdio: ['ignore', out, err] });
      return { code: r.status ?? 128, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') };
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  /** Runs `checker ...args` in a running container through `exec`. */
  exec(id: string, args: string[]): Result {
    return this.rt.run(['exec', id, '/checker', ...args]);
  }

  /** Waits for a container to reach a status (or to be gone). */
  async waitStatus(id: string, status: string, ms = 5_000): Promise<boolean> {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
      const r = this.rt.run(['state', id]);
      if (r.code === 0 && (JSON.parse(r.stdout) as { status: string }).status === status) return true;
    }
    return false;
  }

  /**
   * Deletes the container (force) and returns what is left of it: cgroups,
   * state, a live init. A test asserts the list is empty.
   */
  async finish(id: string, initPid?: number): Promise<string[]> {
    this.rt.run(['delete', '--force', id]);
    const left: string[] = [];
    for (const c of cgroupsNamed(id)) left.push(`cgroup ${c}`);
    if (existsSync(join(this.rt.root, id))) left.push(`state ${join(this.rt.root, id)}`);
    if (initPid && initPid > 0) {
      let alive = true;
      for (let i = 0; i < 100 && alive; i++) {
        alive = existsSync(`/proc/${initPid}`) && !/^State:\s+Z/m.test(safeRead(`/proc/${initPid}/status`));
        if (alive) await sleep(20);
      }
      if (alive) left.push(`process ${initPid}`);
    }
    return left;
  }

  cleanup(): void {
    this.rt.cleanup();
    for (const b of this.bundles) removeBundle(b);
  }
}

function safeRead(p: string): string {
  try { return readFileSync(p, 'utf8'); } catch { return ''; }
}
