/**
 * Tasks through berth-shim: one shim per container, started by the core and
 * independent of it. Every change is in SQLite before the call returns; a
 * per-task WAIT connection to the shim turns the init's exit into the
 * stopped state and a /tasks/exit event, and its loss (the shim died) into a
 * failed task that is cleaned up. `recover` does the same after a restart.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError, failedPrecondition, wrap } from '../../common/errors.js';
import { ShimClient, startShim } from '../../shim/client.js';
import { ShimFiles } from '../../shim/protocol.js';
import type { ServiceContext } from '../services/context.js';
import { bundleSpec, writeBundle } from './bundle.js';
import { mountRootfs, removeBundle, removeBundleLater, type SnapshotterLookup } from './rootfs.js';
import { sweepOrphanBundles } from './orphans.js';
import type { ExecRecord } from './execs.js';
import { removeCgroup, settleProcesses } from './leftovers.js';
import { LogFaults } from './logfaults.js';
import { logOptions } from './logopts.js';
import { execLogPath, resolveCommand, shimBinary, taskPaths } from './paths.js';
import { runRuntime } from './runtime.js';
import { OomMonitor, type OomSubject } from './oom.js';
import { RECOVERY_CONCURRENCY, forEachBounded } from './recovery.js';
import { FastPath, isBundledRuntime, plannerSocket } from './fastpath.js';
import { AttachWarmer } from './attach-warmer.js';
import { bundledRuntimePath } from '../config.js';
import type { TaskRecord } from './store.js';

/** oomKilled: the OOM killer killed a process of the task (the init's exit only) */
export interface TaskExit { status: number; exitedAt: bigint; reason: string; oomKilled?: boolean }

export const SHIM_LOST = 'shim exited unexpectedly';
/** The exit status reported for a task whose shim died before it could record one. */
export const LOST_STATUS = 255;

const key = (ns: string, id: string): string => `${ns}/${id}`;

const isoOf = (ns: bigint): string => (ns === 0n ? '' : new Date(Number(ns / 1_000_000n)).toISOString());

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new BerthError('unavailable', `${what}: no answer in ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e as Error); });
  });
}

/** Whether a shim answers a STATE on socket within a second. */
async function answers(socket: string): Promise<boolean> {
  try { await withTimeout(ShimClient.connect(socket), 1000, 'connect'); return true; } catch { return false; }
}

/** Whether pid is a live (not zombie) berth-shim. */
function shimAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    return comm.startsWith('berth-shim') && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function readPid(file: string): number {
  try { return Number.parseInt(readFileSync(file, 'utf8').trim(), 10) || 0; } catch { return 0; }
}

/** The exit record the shim wrote (exit.json), when there is one. */
function readExitRecord(shimState: string): { status: number; exitedAt: bigint } | undefined {
  try {
    const v = JSON.parse(readFileSync(join(shimState, ShimFiles.EXIT), 'utf8')) as { status?: number; ns?: string };
    return { status: v.status ?? 0, exitedAt: BigInt(v.ns ?? '0') };
  } catch {
    return undefined;
  }
}

export class TaskManager {
  private readonly exits = new Map<string, Promise<TaskExit>>();
  private readonly execExits = new Map<string, Promise<TaskExit>>();
  /** log faults as last seen, so an event is published once per change */
  private readonly logFaults = new LogFaults();
  private readonly monitor: NodeJS.Timeout;
  /** OOM kills seen per task (oom.ts), published once each as /tasks/oom */
  private readonly oom = new OomMonitor((s, count) => this.oomSeen(s, count));
  private readonly oomPoll: NodeJS.Timeout;
  /** the in-process planner of berth-runtime tasks (fastpath.ts); undefined when config.fastPath is off */
  private readonly fastPath: FastPath | undefined;
  /**
   * Bundle removals of deleted tasks, done after Tasks.Delete has answered
   * (orphans.ts); a Tasks.Create of the same id waits for its own.
   */
  private readonly finishing = new Map<string, Promise<void>>();
  /** keeps the kernel's cgroup attach fast while creates run (attach-warmer.ts) */
  private readonly warmer: AttachWarmer;

  /** options.snapshotters: the snapshotter a container's snapshot is in, by name ("" for the default) */
  constructor(private readonly ctx: ServiceContext, private readonly options: { snapshotters?: SnapshotterLookup } = {}) {
    this.warmer = new AttachWarmer(ctx.log);
    this.warmer.prepare();
    if (ctx.config.fastPath) {
      this.fastPath = new FastPath(plannerSocket(ctx.config.state), ctx.log);
      // up before recovery ends: recovered fast-path shims find it for kill and delete
      this.fastPath.listen().catch(() => { /* logged; tasks fall back to the runtime binary */ });
    }
    // a fault is learnt at State/List, and by this sweep when nobody asks
    this.monitor = setInterval(() => this.sweepLogs(), 2000);
    this.monitor.unref();
    // a kill that leaves the task running is published within a second
    this.oomPoll = setInterval(() => this.sweepOom(), 1000);
    this.oomPoll.unref();
  }

  close(): void {
    clearInterval(this.monitor);
    clearInterval(this.oomPoll);
    this.fastPath?.close();
    this.warmer.close();
  }

  get execs(): ServiceContext['store']['execs'] {
    return this.ctx.store.execs;
  }

  /**
   * A task as State/List report it, with its reason: a failed task's
   * stored one, else a fault of a live task (its log cannot be written:
   * logfaults.ts). One STATE to the shim gives both the log fault and the
   * paused status. A change of fault is published: /tasks/log-error when it
   * starts, /tasks/log-recovered when it is over.
   */
  async view(t: TaskRecord): Promise<{ task: TaskRecord; reason: string }> {
    const k = key(t.namespace, t.id);
    if (t.reason !== '' || (t.status !== 'running' && t.status !== 'paused' && t.status !== 'created')) {
      this.logFaults.forget(k);
      return { task: t, reason: t.reason };
    }
    const state = await withTimeout(ShimClient.at(t.socket).state(), 1000, 'state').catch(() => undefined);
    const task = state ? this.syncPaused(t, state.status) : t;
    const { fault, before } = this.logFaults.look(k, t.log, state);
    if (before !== undefined) {
      const detail: Record<string, unknown> = { containerId: t.id, log: t.log, reason: fault || before };
      if (state) { detail.logErrors = state.logErrors; if (state.logError !== undefined) detail.error = state.logError; }
      this.ctx.bus.publish(t.namespace, fault === '' ? '/tasks/log-recovered' : '/tasks/log-error', detail);
      this.ctx.log.warn(fault === '' ? 'task log writable again' : 'task log cannot be written', { namespace: t.namespace, id: t.id, ...detail });
    }
    return { task, reason: fault };
  }

  /**
   * The shim reads the freezer on every STATE, so a task frozen or thawed
   * behind the core's back (the runtime called directly) is seen here and
   * the stored status follows.
   */
  private syncPaused(t: TaskRecord, shimStatus: string): TaskRecord {
    const status = shimStatus === 'paused' && t.status === 'running' ? 'paused'
      : shimStatus === 'running' && t.status === 'paused' ? 'running' : t.status;
    if (status === t.status || !this.ctx.store.tasks.find(t.namespace, t.id)) return t;
    this.ctx.bus.publish(t.namespace, status === 'paused' ? '/tasks/paused' : '/tasks/resumed', { containerId: t.id });
    return this.ctx.store.tasks.update(t.namespace, t.id, { status });
  }

  private sweepOom(): void {
    try {
      for (const t of this.ctx.store.tasks.all()) if (t.status === 'running' || t.status === 'paused') this.oom.check(t);
    } catch (err) {
      this.ctx.log.debug('oom sweep skipped', { error: (err as Error).message });
    }
  }

  /** A new OOM kill in a task's cgroup: stored on the task (when it still exists) and published. */
  private oomSeen(s: OomSubject, count: number): void {
    const t = this.ctx.store.tasks.find(s.namespace, s.id);
    if (t && !t.oomKilled) this.ctx.store.tasks.update(s.namespace, s.id, { oomKilled: true });
    this.ctx.bus.publish(s.namespace, '/tasks/oom', { containerId: s.id, count });
    this.ctx.log.warn('task oom-killed', { namespace: s.namespace, id: s.id, count });
  }

  private sweeping = false;

  private sweepLogs(): void {
    if (this.sweeping) return;
    this.sweeping = true;
    void (async () => {
      try {
        for (const t of this.ctx.store.tasks.all()) if (t.status === 'running' || t.status === 'paused') await this.view(t);
      } catch (err) {
        // the store is closed while the core stops
        this.ctx.log.debug('log sweep skipped', { error: (err as Error).message });
      } finally {
        this.sweeping = false;
      }
    })();
  }

  get(ns: string, id: string): TaskRecord {
    return this.ctx.store.tasks.get(ns, id);
  }

  list(ns: string): TaskRecord[] {
    return this.ctx.store.tasks.list(ns);
  }

  /**
   * The task's shim, unchecked: the call made on it is the check (a STATE
   * first would cost a round trip on every call). A shim that does not
   * answer fails that call, naming its socket.
   */
  private shim(t: TaskRecord): ShimClient {
    return ShimClient.at(t.socket);
  }

  /** Refuses a call on a task that is not alive, naming why. */
  private live(t: TaskRecord, what: string): void {
    if (t.status === 'stopped') {
      throw failedPrecondition(t.reason !== '' ? `cannot ${what} task ${t.id}: it failed: ${t.reason}` : `cannot ${what} task ${t.id}: it has stopped`);
    }
    if (t.status === 'creating') throw failedPrecondition(`cannot ${what} task ${t.id}: it is still being created`);
  }

  /** stdin: the init's stdin is a pipe the shim holds (Attach feeds it, CloseIO closes it). */
  async create(ns: string, id: string, opts: { terminal: boolean; stdin?: boolean }): Promise<TaskRecord> {
    const { config, store, bus, log } = this.ctx;
    await this.finishing.get(key(ns, id));
    const c = store.containers.get(ns, id);
    const entry = config.runtimes[c.runtime.name];
    if (!entry) throw failedPrecondition(`cannot create task ${id}: runtime ${c.runtime.name} is not in the core's runtime table`);
    const { spec, terminal } = bundleSpec(c, taskPaths(config, ns, id).dir);
    const logOpts = logOptions(c);
    const paths = taskPaths(config, ns, id);
    const binary = shimBinary();
    try { accessSync(binary, constants.X_OK); } catch (err) {
      throw new BerthError('not-found', `cannot create task ${id}: cannot start shim for container ${id}: ${binary}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    // the row first: a core that dies from here on finds the task (and its shim) again
    const rec = store.tasks.create({
      namespace: ns, id, status: 'creating', pid: 0, shimPid: 0, socket: paths.socket, bundle: paths.dir,
      shimState: paths.shimState, runtimePath: resolveCommand(entry.path), runtimeArgs: entry.args, log: paths.log,
      terminal: terminal || opts.terminal, stdin: opts.stdin === true, exitStatus: 0, exitedAt: 0n, reason: '',
    });
    // from now until the shim's verdict: the runtime moves the init into its cgroup in there
    const warm = this.warmer.hold();
    try {
      writeBundle(paths.dir, spec);
      mkdirSync(dirname(paths.socket), { recursive: true, mode: 0o700 });
      mountRootfs(c, paths.dir, this.options.snapshotters);
      mkdirSync(paths.logDir, { recursive: true, mode: 0o700 });
      const { pid: shimPid, initPid } = await startShim({
        binary, id, bundle: paths.dir, runtime: rec.runtimePath, runtimeArgs: rec.runtimeArgs,
        socket: paths.socket, stateDir: paths.shimState, log: paths.log,
        logMaxSize: logOpts.maxSize, logMaxFile: logOpts.maxFile, terminal: rec.terminal, stdin: rec.stdin,
        planner: await this.plannerFor(rec.runtimePath),
      });
      warm();
      // the shim's verdict carries the init's pid; a shim started the child_process way says only its own
      const pid = initPid > 0 ? initPid : (await ShimClient.at(paths.socket).state()).pid;
      const created = store.tasks.update(ns, id, { status: 'created', pid, shimPid });
      this.watch(created);
      bus.publish(ns, '/tasks/create', { containerId: id, pid, bundle: paths.dir, runtime: c.runtime.name });
      log.info('task created', { namespace: ns, id, pid, shimPid });
      return created;
    } catch (err) {
      warm(); // (a second call does nothing)
      await this.abandonCreate(rec, spec.linux?.cgroupsPath);
      store.tasks.delete(ns, id);
      throw wrap(`cannot create task ${id}`, err);
    }
  }

  /** The fast path's socket when this runtime is Berth's own and the fast path is up. */
  private async plannerFor(runtimePath: string): Promise<string | undefined> {
    if (!this.fastPath || !isBundledRuntime(runtimePath, bundledRuntimePath())) return undefined;
    return (await this.fastPath.ready()) ? this.fastPath.socket : undefined;
  }

  /**
   * A create that failed: the shim cleans up after a runtime that refused,
   * but a shim that died (or never ran) cannot. So: the shim is stopped, the
   * runtime calls it started are let finish, then the runtime's container,
   * the cgroup, the bundle and an empty log are removed.
   */
  private async abandonCreate(t: TaskRecord, cgroupsPath: string | undefined): Promise<void> {
    const shimPid = readPid(join(t.shimState, ShimFiles.PID));
    if (shimAlive(shimPid)) { try { process.kill(shimPid, 'SIGKILL'); } catch { /* gone */ } }
    await settleProcesses(t.bundle, 10_000);
    await this.cleanup(t);
    if (cgroupsPath !== undefined) await removeCgroup(cgroupsPath);
    try { if (statSync(t.log).size === 0) rmSync(t.log); } catch { /* no log */ }
    try { rmdirSync(dirname(t.log)); } catch { /* it holds other logs */ }
  }

  async start(ns: string, id: string): Promise<number> {
    const t = this.get(ns, id);
    this.live(t, 'start');
    if (t.status !== 'created') throw failedPrecondition(`cannot start task ${id}: it is ${t.status}`);
    await this.shim(t).start();
    const started = this.ctx.store.tasks.update(ns, id, { status: 'running' });
    this.ctx.bus.publish(ns, '/tasks/start', { containerId: id, pid: started.pid });
    return started.pid;
  }

  async kill(ns: string, id: string, signal: number, all: boolean): Promise<void> {
    const t = this.get(ns, id);
    this.live(t, 'kill');
    try {
      await this.shim(t).kill(signal === 0 ? 15 : signal, all);
    } catch (err) {
      // the init exited between our look at the task and the runtime's: the
      // caller raced an exit, which is a state, not a fault (dockerd: 409/304)
      if (err instanceof BerthError && /container not running|no such process/.test(err.message)) {
        throw failedPrecondition(`cannot kill task ${id}: it is not running`);
      }
      throw err;
    }
  }

  async pause(ns: string, id: string, resume: boolean): Promise<void> {
    const what = resume ? 'resume' : 'pause';
    const t = this.get(ns, id);
    this.live(t, what);
    if (resume ? t.status !== 'paused' : t.status !== 'running') throw failedPrecondition(`cannot ${what} task ${id}: it is ${t.status}`);
    await runRuntime(t, [what, id], what);
    this.ctx.store.tasks.update(ns, id, { status: resume ? 'running' : 'paused' });
    this.ctx.bus.publish(ns, resume ? '/tasks/resumed' : '/tasks/paused', { containerId: id });
  }

  async update(ns: string, id: string, resources: Buffer): Promise<void> {
    const t = this.get(ns, id);
    this.live(t, 'update');
    try { JSON.parse(resources.toString('utf8')); } catch (err) {
      throw new BerthError('invalid-argument', `cannot update task ${id}: resources are not valid JSON: ${(err as Error).message}`);
    }
    await runRuntime(t, ['update', '--resources', '-', id], 'update', resources.toString('utf8'));
  }

  /** The runtime's `events --stats` JSON of a live task. */
  async metrics(t: TaskRecord): Promise<Buffer> {
    this.live(t, 'get metrics of');
    const { stdout } = await runRuntime(t, ['events', '--stats', t.id], 'get metrics of');
    return Buffer.from(stdout.trim());
  }

  async resize(ns: string, id: string, execId: string, rows: number, cols: number): Promise<void> {
    const t = this.get(ns, id);
    this.live(t, 'resize');
    await this.shim(t).resize(rows, cols, execId === '' ? undefined : execId);
  }

  async closeStdin(ns: string, id: string, execId: string): Promise<void> {
    const t = this.get(ns, id);
    this.live(t, 'close stdin of');
    await this.shim(t).closeStdin(execId === '' ? undefined : execId);
  }

  /** The init's exit: at once when recorded, else when the WAIT connection reports it. */
  async wait(ns: string, id: string): Promise<TaskExit> {
    const t = this.get(ns, id);
    if (t.status === 'stopped') return { status: t.exitStatus, exitedAt: t.exitedAt, reason: t.reason, oomKilled: t.oomKilled };
    return this.exits.get(key(ns, id)) ?? this.watch(t);
  }

  /**
   * Removes a stopped (or never started) task: the runtime's container and
   * the shim (one DELETE that also ends the shim), then the row. The bundle
   * goes after the answer (removeBundleLater; a core that dies first leaves
   * it to recovery's sweep, orphans.ts). The json log stays (it belongs to
   * the container, read after its end).
   */
  async delete(ns: string, id: string, opts: { force?: boolean } = {}): Promise<TaskRecord> {
    let t = this.get(ns, id);
    if ((t.status === 'running' || t.status === 'paused') && opts.force) t = await this.killAndWait(t);
    if (t.status === 'running' || t.status === 'paused') throw failedPrecondition(`cannot delete task ${id}: it is ${t.status} (kill it first)`);
    if (t.reason === '' && t.status !== 'creating') {
      try {
        const shim = this.shim(t);
        if (t.status === 'created') {
          // the init is killed and reaped first: berth-shim marks a task the reaper
          // finds after DELETE as stopped again and would then refuse SHUTDOWN
          await shim.kill(9, false);
          await withTimeout(this.watch(t), 5000, `wait for the init of task ${id}`);
        }
        // the shim exits after its OK; one older than EXIT_AFTER is asked to
        const { exited } = await shim.delete({ exit: true });
        if (!exited) await this.shutdown(shim, id);
      } catch (err) {
        if (shimAlive(t.shimPid)) throw wrap(`cannot delete task ${id}`, err);
        await this.cleanup(t);
      }
    }
    this.execs.dropTask(ns, id);
    for (const k of this.execExits.keys()) if (k.startsWith(`${key(ns, id)}/`)) this.execExits.delete(k);
    // a created task's init is killed by the delete: take that exit if it came
    t = this.ctx.store.tasks.find(ns, id) ?? t;
    // the root filesystem is unmounted before the row goes (a failure keeps the row), the files after the answer
    const removal = removeBundleLater(t.bundle, t.socket);
    this.ctx.store.tasks.delete(ns, id);
    this.finishLater(key(ns, id), t, removal);
    this.exits.delete(key(ns, id));
    this.oom.forget(t);
    this.ctx.bus.publish(ns, '/tasks/delete', { containerId: id, pid: t.pid, exitStatus: t.exitStatus, exitedAt: isoOf(t.exitedAt) });
    return t;
  }

  /** Tracks the removal of a deleted task's files, so a Tasks.Create of the same id waits for it. */
  private finishLater(k: string, t: TaskRecord, removal: Promise<void>): void {
    const p = removal.catch((err: unknown) => {
      this.ctx.log.warn('bundle of a deleted task not removed (recovery sweeps it)', { namespace: t.namespace, id: t.id, bundle: t.bundle, error: (err as Error).message });
    }).finally(() => {
      if (this.finishing.get(k) === p) this.finishing.delete(k);
    });
    this.finishing.set(k, p);
  }

  /**
   * For a forced delete: SIGKILL to every process of the task and its exit
   * awaited. A paused task is thawed first, since a frozen process cannot
   * act on SIGKILL.
   */
  private async killAndWait(t: TaskRecord): Promise<TaskRecord> {
    if (t.status === 'paused') {
      await runRuntime(t, ['resume', t.id], 'resume').catch((err: unknown) => {
        this.ctx.log.warn('resume before a forced delete failed', { id: t.id, error: (err as Error).message });
      });
    }
    try {
      await this.shim(t).kill(9, true);
    } catch (err) {
      // the thaw let a signal already pending (a kill sent while it was frozen) end the task before
      // our SIGKILL: it is dying or dead, which is what the delete wants; its exit is awaited below
      if (!(err instanceof BerthError && /container not running|no such process/.test(err.message))) throw err;
    }
    await withTimeout(this.watch(t), 10_000, `wait for task ${t.id} to die`);
    return this.get(t.namespace, t.id);
  }

  /**
   * SHUTDOWN right after DELETE of a created (never started) task is refused
   * until the shim has reaped the init the delete killed: ask again briefly.
   */
  private async shutdown(shim: ShimClient, id: string): Promise<void> {
    for (let i = 0; ; i++) {
      try { await shim.shutdown(); return; } catch (err) {
        if (i >= 40 || !/still exists/.test((err as Error).message)) {
          this.ctx.log.warn('shim shutdown refused', { id, error: (err as Error).message });
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Starts (once) the WAIT on the init; the promise settles with the recorded exit. */
  private watch(t: TaskRecord): Promise<TaskExit> {
    const k = key(t.namespace, t.id);
    const existing = this.exits.get(k);
    if (existing) return existing;
    const p = this.waitLoop(t);
    this.exits.set(k, p);
    return p;
  }

  private async waitLoop(t: TaskRecord): Promise<TaskExit> {
    for (;;) {
      try {
        // no STATE first: a WAIT that cannot connect is the same broken connection as below
        const exit = await ShimClient.at(t.socket).wait();
        return this.recordExit(t, exit.status, exit.exitedAt, '');
      } catch (err) {
        // the connection broke: a live shim is asked again, a dead one means a failed task
        if (shimAlive(t.shimPid) && await answers(t.socket)) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        this.ctx.log.warn('shim lost', { namespace: t.namespace, id: t.id, shimPid: t.shimPid, error: (err as Error).message });
        return this.shimLost(t);
      }
    }
  }

  private recordExit(t: TaskRecord, status: number, exitedAt: bigint, reason: string): TaskExit {
    const { store, bus } = this.ctx;
    if (!store.tasks.find(t.namespace, t.id)) return { status, exitedAt, reason }; // deleted meanwhile
    // the cgroup's count is read before anything removes the cgroup (a kill while the core was down included)
    const oomKilled = this.oom.check(t) > 0 || (store.tasks.find(t.namespace, t.id)?.oomKilled ?? false);
    store.tasks.update(t.namespace, t.id, { status: 'stopped', exitStatus: status, exitedAt, reason, oomKilled });
    const event: Record<string, unknown> = { containerId: t.id, id: t.id, pid: t.pid, exitStatus: status, exitedAt: isoOf(exitedAt) };
    if (reason !== '') event.reason = reason;
    if (oomKilled) event.oomKilled = true;
    bus.publish(t.namespace, '/tasks/exit', event);
    return { status, exitedAt, reason, oomKilled };
  }

  /** The shim died: the task failed; its container, state and bundle are removed. */
  private async shimLost(t: TaskRecord): Promise<TaskExit> {
    const record = readExitRecord(t.shimState);
    this.oom.check(t); // the cleanup removes the cgroup and its count
    await this.cleanup(t);
    const exitedAt = record?.exitedAt ?? BigInt(Date.now()) * 1_000_000n;
    return this.recordExit(t, record?.status ?? LOST_STATUS, exitedAt, SHIM_LOST);
  }

  private async cleanup(t: TaskRecord): Promise<void> {
    if (existsSync(t.shimState)) {
      await runRuntime(t, ['delete', '--force', t.id], 'clean up').catch((err: unknown) => {
        this.ctx.log.warn('runtime delete --force failed', { id: t.id, error: (err as Error).message });
      });
    }
    removeBundle(t.bundle);
    rmSync(t.socket, { force: true });
  }

  /**
   * After a restart: every task found again. A shim that answers gives the
   * true state (an exit it recorded while the core was away included) and
   * is waited on again; a shim that is gone makes the task failed.
   */
  async recover(): Promise<void> {
    const { config, store, log } = this.ctx;
    sweepOrphanBundles(config.state, (ns, id) => store.tasks.find(ns, id) !== undefined, removeBundle, (dir, err) => {
      log.warn('orphan bundle not removed', { bundle: dir, error: (err as Error).message });
    });
    // concurrently (recovery.ts): a dead shim costs its timeouts once, not once per task
    const pending = store.tasks.all().filter((t) => t.status !== 'stopped');
    await forEachBounded(pending, RECOVERY_CONCURRENCY, (t) => this.recoverTask(t), (t, err) => {
      this.ctx.log.error('task recovery failed', { namespace: t.namespace, id: t.id, error: (err as Error).message });
    });
  }

  private async recoverTask(t: TaskRecord): Promise<void> {
    try {
      const state = await withTimeout(ShimClient.at(t.socket).state(), 3000, 'state');
      const status = state.status === 'created' ? 'created' : state.status === 'paused' ? 'paused' : 'running';
      const live = this.ctx.store.tasks.update(t.namespace, t.id, { status, pid: state.pid });
      this.watch(live);
      this.recoverExecs(live);
      this.ctx.log.info('task recovered', { namespace: t.namespace, id: t.id, status: state.status });
    } catch (err) {
      if (t.status === 'creating') {
        // never acknowledged: nothing to report, only to remove
        await this.cleanup(t);
        this.ctx.store.tasks.delete(t.namespace, t.id);
        return;
      }
      this.ctx.log.warn('shim of task unreachable', { namespace: t.namespace, id: t.id, error: (err as Error).message });
      if (shimAlive(t.shimPid)) { this.watch(t); this.recoverExecs(t); return; }
      await this.shimLost(t);
      this.recoverExecs(t);
    }
  }

  // exec processes

  /** stdin: the exec's stdin is a pipe the shim holds (Attach feeds it, CloseIO closes it). */
  addExec(ns: string, id: string, execId: string, spec: Buffer, terminal: boolean, stdin = false): ExecRecord {
    const t = this.get(ns, id);
    this.live(t, 'exec in');
    let process: Record<string, unknown>;
    try { process = JSON.parse(spec.toString('utf8')) as Record<string, unknown>; } catch (err) {
      throw new BerthError('invalid-argument', `cannot exec ${execId} in task ${id}: the process spec is not valid JSON: ${(err as Error).message}`);
    }
    const rec = this.execs.add(ns, id, {
      execId, process, terminal, stdin, log: execLogPath(this.ctx.config, ns, id, execId),
      pid: 0, status: 'created', exitStatus: 0, exitedAt: 0n, reason: '',
    });
    this.ctx.bus.publish(ns, '/tasks/exec-added', { containerId: id, execId });
    return rec;
  }

  async startExec(ns: string, id: string, execId: string): Promise<number> {
    const t = this.get(ns, id);
    this.live(t, 'exec in');
    const e = this.execs.get(ns, id, execId);
    if (e.status !== 'created') throw failedPrecondition(`cannot start exec ${execId} in task ${id}: it is ${e.status}`);
    const shim = this.shim(t);
    // the runtime moves the exec's process into the container's cgroups (attach-warmer.ts)
    const warm = this.warmer.hold();
    let state: Awaited<ReturnType<ShimClient['exec']>>;
    try {
      state = await shim.exec(execId, { process: e.process, log: e.log, terminal: e.terminal, openStdin: e.stdin });
    } finally {
      warm();
    }
    // durable before the pid is acknowledged: a restarted core waits on it again
    this.execs.update(ns, id, execId, { pid: state.pid, status: 'running' });
    this.watchExec(t, execId, state.pid);
    this.ctx.bus.publish(ns, '/tasks/exec-started', { containerId: id, execId, pid: state.pid });
    return state.pid;
  }

  /** Starts (once) the WAIT on an exec; its exit is stored, then published. */
  private watchExec(t: TaskRecord, execId: string, pid: number): Promise<TaskExit> {
    const k = `${key(t.namespace, t.id)}/${execId}`;
    const existing = this.execExits.get(k);
    if (existing) return existing;
    const p = this.execWaitLoop(t, execId).then((x) => {
      if (this.execs.find(t.namespace, t.id, execId)) {
        this.execs.update(t.namespace, t.id, execId, { status: 'stopped', exitStatus: x.status, exitedAt: x.exitedAt, reason: x.reason });
      }
      const event: Record<string, unknown> = { containerId: t.id, id: execId, pid, exitStatus: x.status, exitedAt: isoOf(x.exitedAt) };
      if (x.reason !== '') event.reason = x.reason;
      this.ctx.bus.publish(t.namespace, '/tasks/exit', event);
      return x;
    });
    this.execExits.set(k, p);
    return p;
  }

  private async execWaitLoop(t: TaskRecord, execId: string): Promise<TaskExit> {
    for (;;) {
      try {
        const x = await ShimClient.at(t.socket).wait(execId);
        return { status: x.status, exitedAt: x.exitedAt, reason: '' };
      } catch (err) {
        if (err instanceof BerthError && err.kind === 'not-found') {
          // a shim that no longer knows the exec cannot give its status
          return { status: LOST_STATUS, exitedAt: BigInt(Date.now()) * 1_000_000n, reason: `exec unknown to the shim: ${err.message}` };
        }
        if (shimAlive(t.shimPid) && await answers(t.socket)) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        return { status: LOST_STATUS, exitedAt: BigInt(Date.now()) * 1_000_000n, reason: SHIM_LOST };
      }
    }
  }

  async waitExec(ns: string, id: string, execId: string): Promise<TaskExit> {
    const e = this.execs.get(ns, id, execId);
    if (e.status === 'stopped') return { status: e.exitStatus, exitedAt: e.exitedAt, reason: e.reason };
    if (e.status !== 'running') throw failedPrecondition(`cannot wait for exec ${execId} in task ${id}: it has not started`);
    return this.watchExec(this.get(ns, id), execId, e.pid);
  }

  killExec(ns: string, id: string, execId: string, signal: number): void {
    const e = this.execs.get(ns, id, execId);
    if (e.status !== 'running' || e.pid <= 0) throw failedPrecondition(`cannot kill exec ${execId} in task ${id}: it is ${e.status}`);
    try { process.kill(e.pid, signal === 0 ? 15 : signal); } catch (err) { throw wrap(`cannot kill exec ${execId} in task ${id}`, err); }
  }

  /** Forgets an exited (or never started) exec, here and in the shim; its log stays. */
  async deleteExec(ns: string, id: string, execId: string): Promise<ExecRecord> {
    const t = this.get(ns, id);
    const e = this.execs.get(ns, id, execId);
    if (e.status === 'running') throw failedPrecondition(`cannot delete exec ${execId} in task ${id}: it is running`);
    if (e.status === 'stopped' && e.reason === '' && (t.status === 'running' || t.status === 'paused' || t.status === 'created')) {
      // the shim keeps an exited exec's state until told; a shim gone or that forgot it has nothing to free
      try { await ShimClient.at(t.socket).deleteExec(execId); } catch (err) {
        if (!(err instanceof BerthError && err.kind === 'not-found')) this.ctx.log.warn('shim did not forget exec', { namespace: ns, id, execId, error: (err as Error).message });
      }
    }
    this.execs.remove(ns, id, execId);
    this.execExits.delete(`${key(ns, id)}/${execId}`);
    return e;
  }

  /** After a restart: running execs of a live task are waited on again. */
  private recoverExecs(t: TaskRecord): void {
    for (const e of this.execs.list(t.namespace, t.id)) if (e.status === 'running') void this.watchExec(t, e.execId, e.pid);
  }
}
