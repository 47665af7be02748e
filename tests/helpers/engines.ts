/**
 * Real engines for the end-to-end tests: a private containerd and a private
 * Debian dockerd on top of it, each with its own sockets, roots, bridge and
 * cgroup parent under one temp directory, so they never meet the machine's
 * own engines or another test's.
 *
 * Why our own containerd instead of dockerd's managed one: dockerd 20.10
 * silently uses /run/containerd/containerd.sock whenever that socket exists,
 * so a system containerd started by anyone else would capture our
 * containers. Why `--iptables=false`: every dockerd on a host manages the same
 * DOCKER chains, so two of them would rewrite each other's rules; published
 * ports are served by the userland proxy (docker-proxy) instead, which is
 * enough for `-p 127.0.0.1:PORT:80`.
 *
 * `stop()` removes everything `start()` made; `leftovers()` lists what is
 * still there (processes, mounts, bridge, cgroups, files) so a test can
 * assert that nothing leaked.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync,
  rmSync, rmdirSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/common/errors.js';
import { REPO } from './runtime.js';

/** Docker CLI 28 where the machine has it, else the CLI that Debian's docker.io ships. */
export const DOCKER_CLI = process.env.BERTH_E2E_DOCKER_CLI
  ?? (existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : '/usr/bin/docker');
export const DOCKERD = '/usr/sbin/dockerd';
export const CONTAINERD = '/usr/bin/containerd';
export const CTR = '/usr/bin/ctr';
export const RUNC = '/usr/sbin/runc';
export const BERTH_RUNTIME = join(REPO, 'bin', 'berth-runtime');
/** The containerd namespace the ctr tests use (dockerd uses "moby"). */
export const CTR_NAMESPACE = 'berth-e2e';
/** The busybox image every test runs. */
export const IMAGE = 'berth-e2e:latest';

const SANE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// containerd puts shim sockets in /run/containerd/s whatever its config says.
const HOST_CONTAINERD_DIR = '/run/containerd';

export interface Result { code: number; stdout: string; stderr: string }

export interface EngineOptions {
  /** Runtimes dockerd registers with --add-runtime, name → binary. */
  runtimes: Record<string, string>;
  /** Start dockerd too (the ctr tests only need containerd). */
  dockerd: boolean;
}

/** Which runtime the suites test: berth by default, runc to validate the suites themselves. */
export function runtimeUnderTest(): { name: string; binary: string } {
  return process.env.BERTH_E2E_RUNTIME === 'runc'
    ? { name: 'runcref', binary: RUNC }
    : { name: 'berth', binary: BERTH_RUNTIME };
}

function runSync(cmd: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Result {
  const r = spawnSync(cmd, args, {
    input: opts.input ?? '', encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20,
    env: opts.env ?? { ...process.env, PATH: SANE_PATH },
  });
  // A signal-killed command reports 128+N, as a shell would.
  const code = r.status ?? (r.signal ? 128 + constants.signals[r.signal] : 1);
  return { code, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : '') };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Pids whose command line mentions `needle` (our temp dir is unique, so this only finds ours). */
export function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) out.push(pid);
    } catch { /* exited meanwhile */ }
  }
  return out;
}

/** The parent pid of `pid`, from /proc/<pid>/stat (0 once it has exited). */
function ppidOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch { return 0; }
}

/** Every descendant of `roots` (children, grandchildren …). */
function descendants(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const ppid = ppidOf(pid);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const seen: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    for (const c of children.get(p) ?? []) { seen.push(c); queue.push(c); }
  }
  return seen;
}

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean);
  const points = lines.map((l) => l.split(' ')[4].replace(/\\040/g, ' ')).filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function linkExists(name: string): boolean {
  return runSync('ip', ['link', 'show', 'dev', name]).code === 0;
}

/** A /24 in 10.213.0.0/16 that no route on the host overlaps. */
function freeSubnet(): string {
  const routes = runSync('ip', ['-4', 'route', 'show', 'table', 'all']).stdout;
  for (let i = 0; i < 250; i++) {
    const third = (process.pid + i * 7) % 250 + 1;
    const net = `10.213.${third}.`;
    if (!routes.includes(net) && !routes.includes('10.213.0.0/16')) return `${net}1/24`;
  }
  throw new BerthError('unavailable', 'cannot pick a subnet for the e2e bridge: every 10.213.x.0/24 is in use');
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(100);
  }
  const log = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '';
  throw new BerthError('unavailable', `${what} did not become ready in ${timeoutMs} ms\n${log}`);
}

async function terminate(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** A private containerd (and optionally dockerd) living under one temp directory. */
export class Engines {
  readonly dir: string;
  readonly bridge: string;
  readonly cgroupParent: string;
  readonly containerdSock: string;
  readonly containerdState: string;
  readonly dockerSock: string;
  readonly execRoot: string;
  private containerd: ChildProcess | undefined;
  private dockerd: ChildProcess | undefined;
  private createdHostDir = false;
  /** Host ends of container veths seen on our bridge at stop(), checked by leftovers(). */
  private readonly veths: string[] = [];
  private onSignal: ((sig: NodeJS.Signals) => void) | undefined;
  private readonly cgroupRoots: string[];

  private constructor(readonly options: EngineOptions, dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'berth-e2e-'));
    const tag = this.dir.slice(-6).replace(/[^A-Za-z0-9]/g, 'x');
    this.bridge = `berthe2e${tag}`.slice(0, 15);
    this.cgroupParent = `/berth-e2e-${tag}`;
    this.containerdSock = join(this.dir, 'containerd', 'containerd.sock');
    this.containerdState = join(this.dir, 'containerd', 'state');
    this.dockerSock = join(this.dir, 'docker.sock');
    this.execRoot = join(this.dir, 'exec');
    this.cgroupRoots = readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c, this.cgroupParent));
  }

  /** Starts containerd, then dockerd if asked; on any failure removes what it made and throws. */
  static async start(options: EngineOptions): Promise<Engines> {
    await Engines.reapStale();
    const e = new Engines(options);
    e.stopOnSignals();
    try {
      e.createdHostDir = !existsSync(HOST_CONTAINERD_DIR);
      await e.startContainerd();
      if (options.dockerd) await e.startDockerd();
      return e;
    } catch (err) {
      await e.stop();
      throw err;
    }
  }

  /**
   * Cleans up after runs that were killed before their stop(): a temp dir of
   * ours older than a few minutes (a run that is just starting is never
   * touched) whose processes are all orphans. A live run's daemons are
   * children of its test process; a dead run's were reparented to init.
   */
  static async reapStale(): Promise<void> {
    const cutoff = Date.now() - 5 * 60_000;
    for (const name of readdirSync(tmpdir())) {
      const dir = join(tmpdir(), name);
      if (!/^berth-e2e-[A-Za-z0-9]{6}$/.test(name) || statSync(dir).mtimeMs > cutoff) continue;
      const pids = pidsMentioning(dir);
      if (pids.some((p) => ppidOf(p) !== 1)) continue;
      const family = [...pids, ...descendants(pids)];
      for (const pid of family) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      for (let i = 0; i < 50 && family.some(alive); i++) await sleep(100);
      await new Engines({ runtimes: {}, dockerd: false }, dir).stop();
    }
  }

  /** Stops the engines when the test process is interrupted, then exits as the signal would. */
  private stopOnSignals(): void {
    this.onSignal = (sig: NodeJS.Signals): void => {
      void this.stop().finally(() => process.exit(128 + constants.signals[sig]));
    };
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  private spawnLogged(cmd: string, args: string[], logName: string): ChildProcess {
    const fd = openSync(join(this.dir, logName), 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: { ...process.env, PATH: SANE_PATH } });
    closeSync(fd);
    child.on('error', () => { /* reported by the readiness wait */ });
    return child;
  }

  private async startContainerd(): Promise<void> {
    const base = join(this.dir, 'containerd');
    mkdirSync(base, { recursive: true });
    // CRI is disabled: it would try CNI and the host's /etc/cni; nothing here needs it.
    const config = [
      'version = 2',
      `root = "${join(base, 'root')}"`,
      `state = "${this.containerdState}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${this.containerdSock}"`,
      '[ttrpc]',
      `  address = "${this.containerdSock}.ttrpc"`,
      '[debug]',
      `  address = "${join(base, 'debug.sock')}"`,
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${join(base, 'opt')}"`,
      '',
    ].join('\n');
    writeFileSync(join(base, 'config.toml'), config);
    this.containerd = this.spawnLogged(CONTAINERD, ['--config', join(base, 'config.toml')], 'containerd.log');
    await waitFor('containerd', 20_000, () => this.ctr(['version']).code === 0, join(this.dir, 'containerd.log'));
  }

  private async startDockerd(): Promise<void> {
    const subnet = freeSubnet();
    const up = [['link', 'add', this.bridge, 'type', 'bridge'], ['addr', 'add', subnet, 'dev', this.bridge], ['link', 'set', this.bridge, 'up']];
    for (const args of up) {
      const r = runSync('ip', args);
      if (r.code !== 0) throw new BerthError('unavailable', `cannot set up bridge ${this.bridge}: ${r.stderr.trim()}`);
    }
    // The trust key would otherwise be written to /etc/docker/key.json.
    writeFileSync(join(this.dir, 'daemon.json'), JSON.stringify({ 'deprecated-key-path': join(this.dir, 'key.json') }));
    const args = [
      '--config-file', join(this.dir, 'daemon.json'),
      '--host', `unix://${this.dockerSock}`,
      '--data-root', join(this.dir, 'data'),
      '--exec-root', this.execRoot,
      '--pidfile', join(this.dir, 'dockerd.pid'),
      '--containerd', this.containerdSock,
      '--bridge', this.bridge,
      '--iptables=false', '--ip-masq=false', '--ip-forward=false',
      '--userland-proxy=true',
      '--cgroup-parent', this.cgroupParent,
      '--storage-driver', 'overlay2',
      '--log-level', 'debug',
      ...Object.entries(this.options.runtimes).flatMap(([name, path]) => ['--add-runtime', `${name}=${path}`]),
    ];
    this.dockerd = this.spawnLogged(DOCKERD, args, 'dockerd.log');
    await waitFor('dockerd', 60_000, () => {
      if (this.dockerd?.exitCode !== null) throw new BerthError('unavailable', `dockerd exited:\n${this.tail('dockerd.log')}`);
      return this.docker(['version']).code === 0;
    }, join(this.dir, 'dockerd.log'));
  }

  /** The last lines of one of the engines' logs (dockerd.log, containerd.log). */
  tail(logName: string, lines = 40): string {
    const p = join(this.dir, logName);
    return existsSync(p) ? readFileSync(p, 'utf8').split('\n').slice(-lines).join('\n') : '';
  }

  /** Runs the docker CLI against our dockerd. */
  docker(args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Result {
    return runSync(DOCKER_CLI, args, { ...opts, env: this.dockerEnv() });
  }

  /** Like docker(), but fails the caller with the full output when the exit code is not 0. */
  dockerOk(args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): string {
    const r = this.docker(args, opts);
    if (r.code !== 0) throw new BerthError('internal', `docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** The environment the docker CLI needs to reach our dockerd and nothing else. */
  dockerEnv(): NodeJS.ProcessEnv {
    return { ...process.env, PATH: SANE_PATH, DOCKER_HOST: `unix://${this.dockerSock}`, DOCKER_CONFIG: join(this.dir, 'cli') };
  }

  /** Where ctr should put its stdio FIFOs (its default is /run/containerd/fifo). */
  get fifoDir(): string { return join(this.dir, 'ctr-fifo'); }

  /** Runs ctr against our containerd. */
  ctr(args: string[], opts: { timeoutMs?: number } = {}): Result {
    return runSync(CTR, ['--address', this.containerdSock, ...args], { ...opts, timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  /**
   * The runtime's own log for a container of dockerd's (containerd's shim
   * passes `--log <bundle>/log.json`), or '' once the bundle is gone.
   */
  runtimeLog(containerId: string, namespace = 'moby'): string {
    const full = namespace === 'moby' ? this.fullId(containerId) : containerId;
    const p = join(this.containerdState, 'io.containerd.runtime.v2.task', namespace, full, 'log.json');
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }

  /** A file of a dockerd container's cgroup in the v1 hierarchy `controller`, read on the host. */
  cgroupFile(controller: string, container: string, file: string): string {
    const p = join('/sys/fs/cgroup', controller, this.cgroupParent, this.fullId(container), file);
    return existsSync(p) ? readFileSync(p, 'utf8').trim() : `(no ${p})`;
  }

  private fullId(nameOrId: string): string {
    const r = this.docker(['inspect', '--format', '{{.Id}}', nameOrId]);
    return r.code === 0 ? r.stdout.trim() : nameOrId;
  }

  /**
   * Builds the test image from the host's static busybox: every applet as a
   * symlink, /www/index.html for httpd, a user 1000, then `docker import`.
   */
  buildImage(tag = IMAGE): void {
    const root = join(this.dir, 'image-rootfs');
    for (const d of ['bin', 'etc', 'www', 'tmp', 'root', 'home/user']) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    const applets = runSync('/bin/busybox', ['--list']).stdout.split('\n').filter((a) => a && a !== 'busybox');
    for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
    writeFileSync(join(root, 'www', 'index.html'), '<h1>berth e2e page</h1>\n');
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n');
    const tar = runSync('tar', ['-C', root, '-cf', join(this.dir, 'image-rootfs.tar'), '.']);
    if (tar.code !== 0) throw new BerthError('internal', `cannot pack the test image rootfs: ${tar.stderr.trim()}`);
    this.dockerOk(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/bin', join(this.dir, 'image-rootfs.tar'), tag]);
    rmSync(root, { recursive: true, force: true });
  }

  /** Copies an image from dockerd into containerd's CTR_NAMESPACE; returns the name ctr knows it by. */
  importIntoContainerd(tag = IMAGE): string {
    const archive = join(this.dir, 'image.tar');
    this.dockerOk(['save', '-o', archive, tag]);
    const r = this.ctr(['-n', CTR_NAMESPACE, 'images', 'import', archive], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new BerthError('internal', `ctr images import ${archive} exited ${r.code}: ${r.stderr.trim()}`);
    const list = this.ctr(['-n', CTR_NAMESPACE, 'images', 'ls', '-q']).stdout.split('\n').filter(Boolean);
    const name = list.find((n) => n.endsWith(tag.includes(':') ? tag : `${tag}:latest`));
    if (!name) throw new BerthError('not-found', `image ${tag} not found in containerd after import: ${list.join(', ')}`);
    return name;
  }

  /** Removes every container, stops both daemons, and removes everything they made. */
  async stop(): Promise<void> {
    if (this.onSignal) {
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
    }
    this.veths.push(...this.linksOnBridge());
    if (this.dockerd && this.dockerd.exitCode === null) {
      const ids = this.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) this.docker(['rm', '-f', ...ids], { timeoutMs: 60_000 });
    }
    if (this.containerd && this.containerd.exitCode === null) this.removeCtrContainers();
    const ours = [this.dockerd?.pid, this.containerd?.pid].filter((p): p is number => p !== undefined);
    // Shims are reparented away from containerd; they name our socket on their command line.
    const shims = pidsMentioning(this.containerdSock);
    const family = [...new Set([...ours, ...shims, ...descendants([...ours, ...shims])])];
    await terminate(this.dockerd, 15_000);
    await terminate(this.containerd, 10_000);
    for (const pid of [...shims, ...family]) if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    for (let i = 0; i < 50 && family.some(alive); i++) await sleep(100);
    for (const m of mountsUnder(this.dir)) runSync('umount', ['-l', m]);
    this.veths.push(...this.linksOnBridge());
    if (linkExists(this.bridge)) runSync('ip', ['link', 'del', this.bridge]);
    for (const v of this.veths) if (linkExists(v)) runSync('ip', ['link', 'del', v]);
    this.removeCgroups();
    if (this.createdHostDir) {
      for (const d of ['s', 'fifo', '.'].map((n) => join(HOST_CONTAINERD_DIR, n))) {
        try { rmdirSync(d); } catch { /* absent, or not empty: someone else's */ }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private removeCtrContainers(): void {
    for (const id of this.ctr(['-n', CTR_NAMESPACE, 'tasks', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
      this.ctr(['-n', CTR_NAMESPACE, 'tasks', 'kill', '-s', 'SIGKILL', id]);
      this.ctr(['-n', CTR_NAMESPACE, 'tasks', 'delete', '-f', id]);
    }
    for (const id of this.ctr(['-n', CTR_NAMESPACE, 'containers', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
      this.ctr(['-n', CTR_NAMESPACE, 'containers', 'delete', id]);
    }
  }

  /** Removes our cgroup parent in every hierarchy, children first. */
  private removeCgroups(): void {
    for (const root of this.cgroupRoots) {
      if (!existsSync(root)) continue;
      const r = runSync('find', [root, '-depth', '-type', 'd']);
      for (const d of r.stdout.split('\n').filter(Boolean)) { try { rmdirSync(d); } catch { /* busy: leftovers() reports it */ } }
    }
  }

  /** Names of the links enslaved to our bridge (the host ends of containers' veths). */
  private linksOnBridge(): string[] {
    if (!linkExists(this.bridge)) return [];
    const out = runSync('ip', ['-o', 'link', 'show', 'master', this.bridge]).stdout;
    return out.split('\n').filter(Boolean).map((l) => l.split(': ')[1].split('@')[0]);
  }

  /** What is still on the machine of ours; empty after a clean stop(). */
  leftovers(): string[] {
    const out: string[] = [];
    for (const pid of pidsMentioning(this.dir)) out.push(`process ${pid}: ${readCmdline(pid)}`);
    for (const m of mountsUnder(this.dir)) out.push(`mount ${m}`);
    if (linkExists(this.bridge)) out.push(`bridge ${this.bridge}`);
    for (const v of [...this.veths, ...this.linksOnBridge()]) if (linkExists(v)) out.push(`link ${v}`);
    for (const c of this.cgroupRoots) if (existsSync(c)) out.push(`cgroup ${c}`);
    if (existsSync(this.dir)) out.push(`directory ${this.dir}`);
    if (this.createdHostDir && existsSync(HOST_CONTAINERD_DIR)) out.push(`directory ${HOST_CONTAINERD_DIR}`);
    return out;
  }
}

function readCmdline(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(); } catch { return '?'; }
}
