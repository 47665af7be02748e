/**
 * The daemon's containers: their records (state DB), their tasks in the
 * core, and the rules between — lifecycle (create, start, stop, restart,
 * kill, pause, unpause, wait, rename, update, remove, prune), one exit
 * monitor per run (the core's Tasks.Wait), restart policies with Docker's
 * backoff, AutoRemove, and the rebuild of this view when berthd starts.
 * Every state change is on disk before the call that made it returns;
 * every change Docker reports is published on the event bus.
 */
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { rm, unlink } from 'node:fs/promises';
import { BerthError, failedPrecondition, invalidArgument, notFound } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { CoreClient } from '../../core/client.js';
import type { Process } from '../../core/api/types.js';
import type { DaemonConfig } from '../config.js';
import type { EventBus } from '../events.js';
import { withoutSync, type StateDb } from '../state/db.js';
import { hostsFile } from '../spec/index.js';
import { containerDir, coreSpecDigest, createContainer, preciseIso, runtimeOptions, specFor, type CreateDeps } from './create.js';
import { ImageFilesCache } from './image-files.js';
import { ImageLookup } from './image-lookup.js';
import { generateName, normalizeName } from './names.js';
import { freeLogSpaceForRemoval, logHasRoom } from './logspace.js';
import { dropOrphans } from './orphans.js';
import { networkMode, type NetworkAttacher } from './network.js';
import { BACKOFF_START_MS, nextBackoff, restartOnDaemonStart, shouldRestart, validatePolicy } from './restart.js';
import { parseSignal, unpausesOnKill } from './signals.js';
import { validateResources } from '../spec/validate.js';
import { startError } from './start-error.js';
import { ContainerStore } from './store.js';
import type { ContainerRecord, ContainerStatus, DockerHostConfig } from './types.js';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface ExitInfo { code: number; oomKilled: boolean; error: string }

export interface ContainerServiceOptions extends Omit<CreateDeps, 'core'> {
  core: CoreClient;
  db: StateDb;
  events: EventBus;
  config: DaemonConfig;
  log: Logger;
  network: NetworkAttacher;
  /** releases a removed container's volumes (anonymous ones too with `v`) */
  releaseVolumes?: (containerId: string, removeAnonymous: boolean) => Promise<void>;
}

/**
 * Runs after a task exists and before its process starts: attach uses it to catch the first
 * output. task: the core's answer to the create (the shim's address for a direct attach).
 */
export type StartHook = (c: ContainerRecord, task: { shimAddress: string }) => Promise<void>;

const DEFAULT_STOP_TIMEOUT = 10;
const SIGKILL = 9;

interface Run { startedMs: number; generation: number }

const nowIso = (): string => preciseIso();

function isNotFound(err: unknown): boolean {
  return err instanceof BerthError && err.kind === 'not-found';
}

/**
 * fs.rm answers a file it may not unlink (EPERM: immutable, append-only) by
 * trying it as a directory, and reports that attempt's ENOTDIR; the unlink's
 * own error is the cause worth telling.
 */
async function removalCause(err: unknown): Promise<unknown> {
  const e = err as NodeJS.ErrnoException;
  if (e.code !== 'ENOTDIR' || e.path === undefined) return err;
  try { await unlink(e.path); } catch (cause) { return cause; }
  return err;
}

/** dockerd's words for a container directory that could not be removed: "unable to remove filesystem for <id>: unlinkat <path>: <reason>". */
function filesystemNotRemoved(id: string, err: unknown): BerthError {
  const e = err as NodeJS.ErrnoException;
  const reason = /^[A-Z]+: ([^,]+)/.exec(e.message)?.[1] ?? e.message;
  const what = e.syscall !== undefined && e.path !== undefined ? `${e.syscall}at ${e.path}: ${reason}` : reason;
  return new BerthError('internal', `unable to remove filesystem for ${id}: ${what}`);
}

/** The exit code dockerd gives a start that failed, from the runtime's words. */
function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory|not found/i.test(message)) return 127;
  if (/permission denied/i.test(message)) return 126;
  return 128;
}

export class ContainerService {
  readonly store: ContainerStore;
  private readonly notify = new EventEmitter();
  private readonly runs = new Map<string, Run>();
  /** names of creates under way, not yet in the store */
  private readonly namesBeingCreated = new Set<string>();
  /** starts the core went away during, until it says whether they happened */
  private readonly startsInDoubt = new Map<string, Promise<void>>();
  private readonly backoff = new Map<string, number>();
  /** removals running now, by container ID (a forced second removal joins the first) */
  private readonly removals = new Map<string, Promise<void>>();
  /** the digest of the spec and runtime the core holds for each container (known since its create here) */
  private readonly coreSpecs = new Map<string, string>();
  private readonly imageFiles = new ImageFilesCache();
  /** containers created by this berthd and not started since: the core has no task of theirs */
  private readonly unstarted = new Set<string>();
  /** remembered image lookups for create; forgotten at every change to the images */
  readonly images: ImageLookup;
  private readonly pendingRestarts = new Map<string, NodeJS.Timeout>();
  private readonly startHooks: StartHook[] = [];
  private generation = 0;
  private closed = false;

  constructor(private readonly o: ContainerServiceOptions) {
    this.store = new ContainerStore(o.db);
    this.images = new ImageLookup(o.core);
    this.notify.setMaxListeners(0);
  }

  // ---- lookups (for other route families: attach, logs, exec …) ----

  /** A container by full ID, name (with or without "/") or unique ID prefix; 404 otherwise. */
  get(ref: string): ContainerRecord { return this.store.find(ref); }

  list(): ContainerRecord[] { return this.store.list(); }

  /**
   * The IDs inspect shows in ExecIDs: the container's execs not yet ended (created or running),
   * null when there are none, as dockerd. Set by the exec service, which keeps the execs.
   */
  execIds: (containerId: string) => string[] = () => [];

  /** Registers a hook run between task create and start (attach). */
  addStartHook(hook: StartHook): void { this.startHooks.push(hook); }

  /** Listens for a container's exits ('exit', id, info) and removals ('removed', id). */
  on(event: 'exit', fn: (id: string, info: ExitInfo) => void): void;
  on(event: 'removed', fn: (id: string) => void): void;
  on(event: string, fn: (...args: never[]) => void): void { this.notify.on(event, fn as (...args: unknown[]) => void); }

  /** Publishes a container event with Docker's attributes (name, image, labels, extra). */
  publish(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.o.events.publish('container', action, { ID: c.ID, Attributes: { ...(c.Config.Labels ?? {}), image: c.ImageName, name: c.Name.slice(1), ...extra } });
  }

  private save(c: ContainerRecord): void { this.store.save(c); }

  private setState(c: ContainerRecord, status: ContainerStatus, change: Partial<ContainerRecord['State']> = {}): void {
    c.State = { ...c.State, ...change, Status: status };
    this.save(c);
  }

  /**
   * A removal's mark: written without an fsync. It survives a kill -9 of
   * berthd like any other write; a power cut may lose it, and then the
   * removal, which no client was told of, simply did not begin (its final
   * delete is durable).
   */
  private markRemoving(c: ContainerRecord, change: Partial<ContainerRecord['State']> = {}): void {
    withoutSync(this.o.db, () => this.setState(c, 'removing', { ...change, RemovalInProgress: true }));
  }

  // ---- create ----

  async create(body: Record<string, unknown>, name: string | undefined): Promise<{ Id: string; Warnings: string[] }> {
    let full: string;
    if (name !== undefined && name !== '') {
      full = normalizeName(name);
      const taken = this.store.byName(full);
      if (taken) throw new BerthError('already-exists', `Conflict. The container name "${full}" is already in use by container "${taken.ID}". You have to remove (or rename) that container to be able to reuse that name.`);
      if (this.namesBeingCreated.has(full)) throw new BerthError('already-exists', `Conflict. The container name "${full}" is already in use by a container being created. You have to remove (or rename) that container to be able to reuse that name.`);
    } else {
      const free = (n: string): boolean => !this.store.byName(n) && !this.namesBeingCreated.has(n);
      full = `/${generateName()}`;
      for (let i = 1; !free(full); i++) full = `/${generateName(i)}`;
    }
    // reserved until the record is stored: concurrent creates never pick the same name
    this.namesBeingCreated.add(full);
    try {
      return await this.createNamed(body, full);
    } finally {
      this.namesBeingCreated.delete(full);
    }
  }

  private async createNamed(body: Record<string, unknown>, full: string): Promise<{ Id: string; Warnings: string[] }> {
    const { record, coreSpec, warnings } = await createContainer({ ...this.o, imageFiles: this.imageFiles, images: this.images }, { body, name: full });
    try {
      // the record and its endpoints in one transaction: one commit (one fsync), all or nothing
      this.o.db.transaction(() => {
        this.store.insert(record);
        this.o.network.created?.(record, (body as { NetworkingConfig?: unknown }).NetworkingConfig);
      })();
    } catch (err) {
      await this.destroyCore(record).catch(() => undefined);
      throw err;
    }
    this.coreSpecs.set(record.ID, coreSpec);
    this.unstarted.add(record.ID);
    this.publish(record, 'create');
    this.o.log.info('container created', { id: record.ID, name: record.Name, image: record.ImageName });
    return { Id: record.ID, Warnings: warnings };
  }

  // ---- start ----

  /** Starts a container; false when it was running already (Docker's 304). */
  async start(ref: string): Promise<boolean> {
    const c = this.get(ref);
    if (c.State.Status === 'running') return false;
    if (c.State.Status === 'paused') throw failedPrecondition('cannot start a paused container, try unpause instead');
    if (c.State.Status === 'removing' || c.State.RemovalInProgress) throw failedPrecondition(`container is marked for removal and cannot be started`);
    if (c.State.Status === 'dead') throw failedPrecondition('container is marked for removal and cannot be started');
    this.cancelRestart(c.ID);
    try { await this.run(c, { byUser: true }); } catch (err) {
      await this.removeAfterFailedStart(c.ID);
      throw err;
    }
    return true;
  }

  /**
   * As dockerd: an AutoRemove container whose start failed is removed before the error is answered
   * (docker run --rm waits for that removal after a failed start, for ever otherwise). Not while
   * the core may yet have started it.
   */
  private async removeAfterFailedStart(id: string): Promise<void> {
    const c = this.store.get(id);
    if (!c?.HostConfig.AutoRemove || this.closed || this.startsInDoubt.has(id) || this.running(c)) return;
    await this.removeQuietly(c);
  }

  private async deleteTask(id: string): Promise<void> {
    try { await this.o.core.tasks.Delete({ containerId: id, force: true }); } catch (err) { if (!isNotFound(err)) throw err; }
  }

  /** The container's task as the core has it now: live (with its pid), none (absent or ended), or unknown (no answer). */
  private async taskNow(id: string): Promise<{ kind: 'live'; pid: number; paused: boolean } | { kind: 'none'; exists: boolean } | { kind: 'unknown' }> {
    try {
      const { process: p } = await this.o.core.tasks.State({ containerId: id, execId: '' });
      if (p && (p.status === 'RUNNING' || p.status === 'PAUSED' || p.status === 'PAUSING')) return { kind: 'live', pid: p.pid, paused: p.status !== 'RUNNING' };
      return { kind: 'none', exists: p !== null };
    } catch (err) {
      return isNotFound(err) ? { kind: 'none', exists: false } : { kind: 'unknown' };
    }
  }

  /** Records a live task as the container's run and watches it. */
  private adopt(c: ContainerRecord, pid: number, paused: boolean, settings: ContainerRecord['NetworkSettings'], byUser: boolean): void {
    const gen = ++this.generation;
    this.runs.set(c.ID, { startedMs: Date.now(), generation: gen });
    c.NetworkSettings = settings;
    this.setState(c, paused ? 'paused' : 'running', {
      Pid: pid, StartedAt: nowIso(), ExitCode: 0, Error: '', OOMKilled: false, RemovalInProgress: false,
      StoppedByUser: byUser ? false : c.State.StoppedByUser,
    });
    this.publish(c, 'start');
    this.watch(c.ID, gen);
  }

  /**
   * A start the core may or may not have carried out (it went away mid-call): asked again until it
   * answers, then the live task is adopted, or what the start made is undone. A user's next start
   * waits for this: starting afresh would replace a container that is in fact running.
   */
  private resolveStartInDoubt(c: ContainerRecord, settings: ContainerRecord['NetworkSettings'], byUser: boolean): void {
    const done = (async () => {
      for (let delay = 200; !this.closed; delay = Math.min(delay * 2, 2000)) {
        await new Promise((r) => setTimeout(r, delay));
        const t = await this.taskNow(c.ID);
        if (t.kind === 'unknown') continue;
        const fresh = this.store.get(c.ID);
        if (!fresh) return;
        if (t.kind === 'live' && fresh.State.Status !== 'running' && fresh.State.Status !== 'paused') {
          this.o.log.info('a start whose answer was lost did happen: the task is adopted', { id: c.ID });
          this.adopt(fresh, t.pid, t.paused, settings, byUser);
        } else if (t.kind === 'none') {
          await this.deleteTask(c.ID).catch(() => undefined);
          await this.o.network.detach(fresh).catch(() => undefined);
        }
        return;
      }
    })().finally(() => this.startsInDoubt.delete(c.ID));
    this.startsInDoubt.set(c.ID, done);
  }

  /** Makes the task and starts it; records the run and watches it. */
  private async run(c: ContainerRecord, opts: { byUser: boolean }): Promise<void> {
    const { core } = this.o;
    const inDoubt = this.startsInDoubt.get(c.ID);
    if (inDoubt) {
      await inDoubt;
      const now = this.store.get(c.ID)?.State.Status;
      if (now === 'running' || now === 'paused') return; // it had started after all
    }
    // a task left from the last run (exited, or found after a reboot) is deleted; a live one is this
    // container running already (a start whose answer was lost): adopted, not replaced. A container
    // made by this berthd and never started has none: the core is not asked.
    if (!this.unstarted.delete(c.ID)) {
      const left = await this.taskNow(c.ID);
      if (left.kind === 'live') { this.adopt(c, left.pid, left.paused, c.NetworkSettings, opts.byUser); return; }
      if (left.kind !== 'none' || left.exists) await this.deleteTask(c.ID);
    }
    const att = await this.o.network.attach(c);
    try {
      writeFileSync(c.HostsPath, att.hosts ?? hostsFile({ hostname: c.Config.Hostname || c.ID.slice(0, 12), domainname: c.Config.Domainname, ip: att.ip, extraHosts: c.HostConfig.ExtraHosts ?? [], hostNetwork: att.host }));
      await this.sendSpec(c, att);
      const created = await core.tasks.Create({ containerId: c.ID, terminal: c.Config.Tty === true, stdin: c.Config.OpenStdin === true ? 'pipe' : '' }); // any non-empty stdin: the shim holds a pipe
      for (const hook of this.startHooks) await hook(c, created);
      const { pid } = await core.tasks.Start({ containerId: c.ID, execId: '' });
      this.adopt(c, pid, false, att.settings, opts.byUser);
    } catch (raw) {
      const err = startError(raw);
      const message = (err as Error).message;
      // the core may have started it and died before answering: what it says now decides
      const now = await this.taskNow(c.ID);
      if (now.kind === 'live') { this.adopt(c, now.pid, now.paused, att.settings, opts.byUser); return; }
      if (now.kind === 'unknown') {
        const fresh = this.store.get(c.ID);
        if (fresh) this.setState(fresh, fresh.State.Status === 'running' || fresh.State.Status === 'restarting' ? 'exited' : fresh.State.Status, { ExitCode: startFailureCode(message), Error: message, Pid: 0 });
        this.resolveStartInDoubt(c, att.settings, opts.byUser);
        throw err;
      }
      await this.deleteTask(c.ID).catch(() => undefined);
      await this.o.network.detach(c).catch(() => undefined);
      const fresh = this.store.get(c.ID);
      if (fresh) this.setState(fresh, fresh.State.Status === 'restarting' ? 'exited' : fresh.State.Status === 'running' ? 'exited' : fresh.State.Status, { ExitCode: startFailureCode(message), Error: message, Pid: 0 });
      throw err;
    }
  }

  /** Gives the core the spec of this start, unless it holds that very spec already (sent at create). */
  private async sendSpec(c: ContainerRecord, att: { host: boolean; netnsPath?: string }): Promise<void> {
    const specJson = JSON.stringify(specFor(c, this.o, { host: att.host, netnsPath: att.netnsPath }).spec);
    const runtime = c.HostConfig.Runtime ?? c.Runtime;
    const options = runtimeOptions(c.HostConfig);
    const digest = coreSpecDigest(specJson, runtime, options);
    if (this.coreSpecs.get(c.ID) === digest) return;
    this.coreSpecs.delete(c.ID);
    await this.o.core.containers.Update({
      container: { id: c.ID, spec: Buffer.from(specJson), runtime: { name: runtime, options } } as never,
      updateMask: ['spec', 'runtime'],
    });
    this.coreSpecs.set(c.ID, digest);
  }

  // ---- the exit monitor ----

  /** Waits for the run's exit through the core (again after a core outage) and records it once. */
  private watch(id: string, gen: number): void {
    void (async () => {
      let delay = 200;
      while (!this.closed) {
        if (this.runs.get(id)?.generation !== gen) return;
        try {
          const w = await this.o.core.tasks.Wait({ containerId: id, execId: '' });
          await this.exited(id, gen, { code: w.exitStatus, oomKilled: w.oomKilled, error: '' });
          return;
        } catch (err) {
          if (this.closed) return;
          if (isNotFound(err)) { await this.exited(id, gen, { code: 255, oomKilled: false, error: 'the task is gone' }); return; }
          this.o.log.debug('waiting for container exit failed; retrying', { id, error: (err as Error).message });
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 5000);
        }
      }
    })();
  }

  private async exited(id: string, gen: number, info: ExitInfo): Promise<void> {
    const run = this.runs.get(id);
    if (run?.generation !== gen) return;
    this.runs.delete(id);
    const c = this.store.get(id);
    if (!c) return;
    const runMs = Date.now() - run.startedMs;
    const exit = { Pid: 0, ExitCode: info.code, OOMKilled: info.oomKilled, FinishedAt: nowIso(), Error: info.error };
    const removing = this.removals.has(id) || (c.HostConfig.AutoRemove === true && !this.closed);
    if (removing) {
      // one write keeps the code and marks the removal (a berthd killed from here on finishes it at
      // its next start); the removal deletes the task and the network, in parallel
      this.markRemoving(c, exit);
      this.announceExit(c, info, runMs);
      if (!this.removals.has(id)) await this.removeQuietly(c);
      return;
    }
    // the code is kept before the task (the core's copy of it) is deleted: a berthd killed in
    // between finds it at restore (FinishedAt after StartedAt) instead of reporting 255. No fsync:
    // a kill -9 keeps it, and what a power cut could take the 'exited' write below makes durable.
    c.State.ExitCode = info.code;
    c.State.FinishedAt = exit.FinishedAt;
    withoutSync(this.o.db, () => this.save(c));
    await Promise.all([
      this.deleteTask(id).catch((err: unknown) => this.o.log.warn('cannot delete the exited task', { id, error: (err as Error).message })),
      this.detachAfterTurn(c),
    ]);
    this.setState(c, 'exited', exit);
    this.announceExit(c, info, runMs);
    await this.afterExit(c, runMs);
  }

  /** An exit's events and listeners. */
  private announceExit(c: ContainerRecord, info: ExitInfo, runMs: number): void {
    if (info.oomKilled) this.publish(c, 'oom');
    this.publish(c, 'die', { exitCode: String(info.code), execDuration: String(Math.round(runMs / 1000)) });
    this.notify.emit('exit', c.ID, info);
    this.o.log.info('container exited', { id: c.ID, code: info.code, oomKilled: info.oomKilled });
  }

  /** AutoRemove, or the restart policy's next start. */
  private async afterExit(c: ContainerRecord, runMs: number): Promise<void> {
    if (this.closed) return;
    if (c.HostConfig.AutoRemove) { await this.removeQuietly(c); return; }
    if (!shouldRestart({ policy: c.HostConfig.RestartPolicy, exitCode: c.State.ExitCode, stoppedByUser: c.State.StoppedByUser, restartCount: c.RestartCount })) return;
    const delay = nextBackoff(this.backoff.get(c.ID) ?? 0, runMs);
    this.backoff.set(c.ID, delay);
    this.setState(c, 'restarting');
    this.scheduleRestart(c.ID, delay);
  }

  private scheduleRestart(id: string, delay: number): void {
    const t = setTimeout(() => {
      this.pendingRestarts.delete(id);
      void this.policyRestart(id);
    }, delay);
    this.pendingRestarts.set(id, t);
  }

  private async policyRestart(id: string): Promise<void> {
    const c = this.store.get(id);
    if (!c || c.State.Status !== 'restarting' || this.closed) return;
    c.RestartCount++;
    this.save(c);
    try {
      await this.run(c, { byUser: false });
    } catch (err) {
      this.o.log.warn('restart of container failed', { id, error: (err as Error).message });
      const fresh = this.store.get(id);
      if (fresh) await this.afterExit(fresh, 0);
    }
  }

  private cancelRestart(id: string): void {
    const t = this.pendingRestarts.get(id);
    if (t) { clearTimeout(t); this.pendingRestarts.delete(id); }
  }

  private async removeQuietly(c: ContainerRecord): Promise<void> {
    try { await this.remove(c.ID, { force: true, volumes: true }); } catch (err) {
      if (!isNotFound(err)) this.o.log.warn('auto-remove failed', { id: c.ID, error: (err as Error).message });
    }
  }

  /** Resolves at the container's next exit (or removal, with 'removed'). */
  private nextExit(id: string, signal?: AbortSignal): Promise<ExitInfo> {
    return new Promise((resolve, reject) => {
      const onExit = (eid: string, info: ExitInfo): void => { if (eid === id) { done(); resolve(info); } };
      const onRemoved = (eid: string): void => { if (eid === id) { done(); const c = this.store.get(id); resolve({ code: c?.State.ExitCode ?? 0, oomKilled: false, error: '' }); } };
      const onAbort = (): void => { done(); reject(new Error('wait aborted')); };
      const done = (): void => { this.notify.off('exit', onExit); this.notify.off('removed', onRemoved); signal?.removeEventListener('abort', onAbort); };
      this.notify.on('exit', onExit);
      this.notify.on('removed', onRemoved);
      signal?.addEventListener('abort', onAbort);
    });
  }

  // ---- stop, kill, restart ----

  private running(c: ContainerRecord): boolean {
    return c.State.Status === 'running' || c.State.Status === 'paused';
  }

  /** Stops a container; false when it was not running (Docker's 304). */
  async stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<boolean> {
    const c = this.get(ref);
    if (c.State.Status === 'restarting') {
      this.cancelRestart(c.ID);
      this.setState(c, 'exited', { StoppedByUser: true });
      this.publish(c, 'stop');
      return true;
    }
    if (!this.running(c)) return false;
    await this.stopRunning(c, opts);
    this.publish(this.store.get(c.ID) ?? c, 'stop');
    return true;
  }

  private async stopRunning(c: ContainerRecord, opts: { timeout?: number; signal?: string }): Promise<void> {
    c.State.StoppedByUser = true;
    this.save(c);
    this.cancelRestart(c.ID);
    const sig = parseSignal(opts.signal || c.Config.StopSignal || 'SIGTERM');
    const timeout = opts.timeout ?? (typeof c.Config.StopTimeout === 'number' ? c.Config.StopTimeout : DEFAULT_STOP_TIMEOUT);
    const exit = this.nextExit(c.ID);
    if (c.State.Status === 'paused') {
      // a frozen process cannot take its signal: thaw it first (dockerd does the same)
      await this.o.core.tasks.Resume({ containerId: c.ID }).catch(() => undefined);
    }
    if (timeout !== 0) {
      if (!await this.signal(c, sig)) return this.settled(exit);
      if (timeout < 0 || await Promise.race([exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeout * 1000))])) {
        await exit;
        return;
      }
    }
    if (!await this.signal(c, SIGKILL)) return this.settled(exit);
    await exit;
  }

  /**
   * The task ended before our signal reached it: its exit may already have
   * been handled (then `exit` never settles), so wait for it only briefly.
   */
  private async settled(exit: Promise<unknown>): Promise<void> {
    await Promise.race([exit, new Promise((r) => setTimeout(r, 2000))]);
  }

  /** Signals the task; false when it was no longer running (an exit raced the call). */
  private async signal(c: ContainerRecord, sig: number): Promise<boolean> {
    try {
      await this.o.core.tasks.Kill({ containerId: c.ID, execId: '', signal: sig, all: false });
    } catch (err) {
      if (!(err instanceof BerthError && (err.kind === 'not-found' || err.kind === 'failed-precondition'))) throw err;
      return false;
    }
    this.publish(c, 'kill', { signal: String(sig) });
    return true;
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const c = this.get(ref);
    const sig = parseSignal(signal);
    if (!this.running(c)) throw failedPrecondition(`Container ${c.ID} is not running`);
    if (sig === SIGKILL) {
      // a kill by the user is a stop for the restart policy, as in dockerd
      c.State.StoppedByUser = true;
      this.save(c);
    }
    if (!await this.signal(c, sig)) throw failedPrecondition(`Container ${c.ID} is not running`);
    if (c.State.Status === 'paused' && unpausesOnKill(sig, c.Config.StopSignal)) await this.thawAfterKill(c);
  }

  /**
   * A kill that ends a paused container thaws it, as dockerd does: a frozen process would hold its
   * signal (a SIGKILL pending in a frozen cgroup until someone unpauses). The container is running
   * again until its exit is recorded, unless that exit came first.
   */
  private async thawAfterKill(c: ContainerRecord): Promise<void> {
    const gen = this.runs.get(c.ID)?.generation;
    try {
      await this.o.core.tasks.Resume({ containerId: c.ID });
    } catch (err) {
      this.o.log.warn('cannot unpause the killed container', { id: c.ID, error: (err as Error).message });
      return;
    }
    const fresh = this.store.get(c.ID);
    if (!fresh || fresh.State.Status !== 'paused' || this.runs.get(c.ID)?.generation !== gen) return;
    this.setState(fresh, 'running');
    this.publish(fresh, 'unpause');
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const c = this.get(ref);
    if (c.State.Status === 'restarting') this.cancelRestart(c.ID);
    else if (this.running(c)) {
      await this.stopRunning(c, opts);
      this.publish(c, 'stop');
    }
    const fresh = this.get(c.ID);
    await this.run(fresh, { byUser: true });
    this.publish(fresh, 'restart');
  }

  // ---- pause ----

  async pause(ref: string): Promise<void> {
    const c = this.get(ref);
    if (c.State.Status === 'paused') throw failedPrecondition(`Container ${c.ID} is already paused`);
    if (c.State.Status !== 'running') throw failedPrecondition(`Container ${c.ID} is not running`);
    await this.o.core.tasks.Pause({ containerId: c.ID });
    this.setState(c, 'paused');
    this.publish(c, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const c = this.get(ref);
    if (c.State.Status !== 'paused') throw failedPrecondition(`Container ${c.ID} is not paused`);
    await this.o.core.tasks.Resume({ containerId: c.ID });
    this.setState(c, 'running');
    this.publish(c, 'unpause');
  }

  // ---- wait ----

  async wait(ref: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const c = this.get(ref);
    const answer = (info: ExitInfo): { StatusCode: number; Error: { Message: string } | null } => ({ StatusCode: info.code, Error: info.error ? { Message: info.error } : null });
    // a container being removed may still be running until the kill lands
    const stillRunning = this.running(c) || c.State.Status === 'restarting' || (c.State.Status === 'removing' && this.runs.has(c.ID));
    if (condition === 'not-running' && !stillRunning) {
      return answer({ code: c.State.ExitCode, oomKilled: c.State.OOMKilled, error: '' });
    }
    if (condition === 'removed') {
      const info = await new Promise<ExitInfo>((resolve, reject) => {
        const onRemoved = (eid: string): void => { if (eid === c.ID) { off(); resolve(lastExit ?? { code: this.store.get(c.ID)?.State.ExitCode ?? 0, oomKilled: false, error: '' }); } };
        let lastExit: ExitInfo | undefined;
        const onExit = (eid: string, i: ExitInfo): void => { if (eid === c.ID) lastExit = i; };
        const onAbort = (): void => { off(); reject(new Error('wait aborted')); };
        const off = (): void => { this.notify.off('removed', onRemoved); this.notify.off('exit', onExit); signal?.removeEventListener('abort', onAbort); };
        this.notify.on('removed', onRemoved);
        this.notify.on('exit', onExit);
        signal?.addEventListener('abort', onAbort);
      });
      return answer(info);
    }
    return answer(await this.nextExit(c.ID, signal));
  }

  // ---- rename, update ----

  async rename(ref: string, newName: string): Promise<void> {
    const c = this.get(ref);
    const full = newName.startsWith('/') ? newName : `/${newName}`;
    if (full === c.Name) throw invalidArgument(`Renaming a container with the same name as its current name`);
    // dockerd's words: a bad or taken name is an error "when allocating new name"
    const allocating = (err: unknown): unknown => (err instanceof BerthError ? new BerthError(err.kind, `Error when allocating new name: ${err.message}`, { cause: err }) : err);
    const old = c.Name;
    try {
      c.Name = normalizeName(full);
      this.save(c); // a taken name is the 409 conflict
    } catch (err) {
      throw allocating(err);
    }
    this.publish(c, 'rename', { oldName: old });
  }

  /** docker update: resources and the restart policy; a running container's cgroup follows. */
  async update(ref: string, body: Partial<DockerHostConfig>): Promise<{ Warnings: string[] }> {
    const c = this.get(ref);
    const next: DockerHostConfig = { ...c.HostConfig };
    const keys = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'BlkioWeight', 'OomKillDisable'] as const;
    for (const k of keys) if (body[k] !== undefined && body[k] !== null && !(typeof body[k] === 'number' && body[k] === 0 && k !== 'PidsLimit')) (next as Record<string, unknown>)[k] = body[k];
    if (body.RestartPolicy && body.RestartPolicy.Name !== undefined && (body.RestartPolicy.Name as string) !== '') {
      next.RestartPolicy = { Name: body.RestartPolicy.Name, MaximumRetryCount: body.RestartPolicy.MaximumRetryCount ?? 0 };
    }
    validatePolicy(next.RestartPolicy, next.AutoRemove === true);
    validateResources(next);
    const { spec } = specFor({ ...c, HostConfig: next }, this.o, { host: networkMode(c) === 'host' });
    if (this.running(c)) {
      await this.o.core.tasks.Update({ containerId: c.ID, resources: Buffer.from(JSON.stringify(spec.linux.resources)), annotations: {} });
    }
    c.HostConfig = next;
    this.save(c);
    this.publish(c, 'update');
    return { Warnings: [] };
  }

  // ---- remove, prune ----

  /**
   * The core's word on a live task's log ("log: no space left" while the
   * disk under it is full), "" when it is fine or the core cannot say.
   * Asked only when the log's filesystem is short of room: with room to
   * spare a log write cannot fail for space, and inspect is spared a core
   * round trip (and the core one to the shim).
   */
  async logFault(c: ContainerRecord): Promise<string> {
    if (c.LogPath === '' || logHasRoom(c.LogPath)) return '';
    try {
      return (await this.o.core.tasks.State({ containerId: c.ID, execId: '' })).process?.reason ?? '';
    } catch {
      return '';
    }
  }

  async remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    const c = this.get(ref);
    // 'removing' is only in progress while a removal runs here: one cut short (the core killed
    // under it, berthd killed) left the state behind, and a new rm finishes it
    const pending = this.removals.get(c.ID);
    if (pending) {
      if (!opts.force) throw failedPrecondition(`removal of container ${c.ID} is already in progress`);
      return pending;
    }
    const removal = this.removeNow(c, opts).finally(() => this.removals.delete(c.ID));
    this.removals.set(c.ID, removal);
    return removal;
  }

  private async removeNow(c: ContainerRecord, opts: { force: boolean; volumes: boolean }): Promise<void> {
    if (this.running(c) && !opts.force) {
      const how = c.State.Status === 'paused' ? 'Unpause and then stop' : 'Stop';
      throw failedPrecondition(`You cannot remove a ${c.State.Status} container ${c.ID}. ${how} the container before attempting removal or force remove`);
    }
    this.cancelRestart(c.ID);
    if (freeLogSpaceForRemoval(c.LogPath)) this.o.log.warn('disk nearly full: emptied the logs of the container being removed', { id: c.ID });
    const live = this.running(c);
    // the mark comes first: a berthd killed from here on finishes the removal at its next start,
    // and the exit of a killed task only records its code (the task and network go below)
    if (c.State.Status !== 'removing' || !c.State.RemovalInProgress) this.markRemoving(c, { StoppedByUser: live || c.State.StoppedByUser });
    try {
      await this.tearDown(c, live, opts.volumes);
    } catch (err) {
      this.markDeadAfter(c.ID, err);
      throw err;
    }
  }

  /**
   * A removal that failed for a reason other than the core being away
   * leaves the container dead with the reason, as dockerd does: not
   * startable, listed, removed by the next rm (or at berthd's next start).
   * With the core away it stays 'removing', finished by the next rm too.
   */
  private markDeadAfter(id: string, err: unknown): void {
    const now = this.store.get(id);
    if (!now || (err instanceof BerthError && err.kind === 'unavailable')) return;
    this.setState(now, 'dead', { RemovalInProgress: false, Error: (err as Error).message });
  }

  private async tearDown(c: ContainerRecord, live: boolean, volumes: boolean): Promise<void> {
    const run = live ? this.runs.get(c.ID) : undefined;
    if (run) await this.killAndDelete(c, run);
    else if (live) await this.settled(this.nextExit(c.ID)); // its exit is being recorded right now
    const fresh = this.store.get(c.ID);
    if (!fresh) return; // removed meanwhile
    this.runs.delete(c.ID);
    if (fresh.State.Status !== 'removing' || !fresh.State.RemovalInProgress) this.markRemoving(fresh);
    await this.destroyCore(fresh, { taskGone: run !== undefined });
    await this.o.releaseVolumes?.(fresh.ID, volumes).catch((err: unknown) => this.o.log.warn('cannot release volumes', { id: fresh.ID, error: (err as Error).message }));
    this.store.delete(fresh.ID);
    this.backoff.delete(fresh.ID);
    this.coreSpecs.delete(fresh.ID);
    this.unstarted.delete(fresh.ID);
    this.publish(fresh, 'destroy');
    this.notify.emit('removed', fresh.ID);
    this.o.log.info('container removed', { id: fresh.ID, name: fresh.Name });
  }

  /**
   * rm -f of a running container: SIGKILL to every process, the exit
   * awaited and the task deleted in one core call (a forced Tasks.Delete),
   * the network released meanwhile; the exit is announced from the
   * answer, as the monitor of this run stands down. Events: kill, die.
   */
  private async killAndDelete(c: ContainerRecord, run: Run): Promise<void> {
    this.runs.delete(c.ID);
    this.publish(c, 'kill', { signal: String(SIGKILL) });
    const [gone] = await Promise.all([
      this.o.core.tasks.Delete({ containerId: c.ID, force: true }).catch((err: unknown) => { if (isNotFound(err)) return undefined; throw err; }),
      this.detachAfterTurn(c),
    ]);
    const info: ExitInfo = gone ? { code: gone.exitStatus, oomKilled: false, error: '' } : { code: 255, oomKilled: false, error: 'the task is gone' };
    const now = this.store.get(c.ID) ?? c;
    this.markRemoving(now, { Pid: 0, ExitCode: info.code, OOMKilled: false, FinishedAt: nowIso(), Error: info.error });
    this.announceExit(now, info, Date.now() - run.startedMs);
  }

  /**
   * The network released beside a core call made just before: a turn of the event loop later, so
   * that the call's request is on its way first (the release blocks the loop for a few ms: a
   * child spawned, a commit) and the two run at the same time.
   */
  private async detachAfterTurn(c: ContainerRecord): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    await this.o.network.detach(c).catch(() => undefined);
  }

  /**
   * The core's task, container and snapshot, and the container's files:
   * the task and the network namespace in parallel (unless the task is
   * gone already), then the core container and the snapshot in parallel.
   */
  private async destroyCore(c: ContainerRecord, opts: { taskGone?: boolean } = {}): Promise<void> {
    const { core } = this.o;
    const absentOk = (err: unknown): void => { if (!isNotFound(err)) throw err; };
    if (!opts.taskGone) await Promise.all([this.deleteTask(c.ID), this.detachAfterTurn(c)]);
    await Promise.all([
      core.containers.Delete({ id: c.ID }).then(() => undefined, absentOk),
      core.snapshots.Remove({ snapshotter: c.Snapshotter, key: c.ID }).then(() => undefined, absentOk),
      // off the event loop: unlinks on a busy disk take milliseconds each
      rm(containerDir(this.o.config, c.ID), { recursive: true, force: true }).catch(async (err: unknown) => { throw filesystemNotRemoved(c.ID, await removalCause(err)); }),
    ]);
  }

  async prune(accept: (c: ContainerRecord) => boolean): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let space = 0;
    for (const c of this.store.list()) {
      if (this.running(c) || c.State.Status === 'restarting' || !accept(c)) continue;
      space += (await this.sizes(c).catch(() => ({ SizeRw: 0 }))).SizeRw;
      await this.remove(c.ID, { force: false, volumes: false });
      deleted.push(c.ID);
    }
    this.o.events.publish('container', 'prune', { ID: '', Attributes: { reclaimed: String(space) } });
    return { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: space };
  }

  /** The container's writable layer and, with the image, its whole root filesystem. */
  async sizes(c: ContainerRecord): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const { core } = this.o;
    const rw = Number((await core.snapshots.Usage({ snapshotter: c.Snapshotter, key: c.ID })).size);
    let image = 0;
    try {
      const { json } = await core.images.Inspect({ ref: c.Image });
      image = (JSON.parse(json.toString('utf8')) as { Size?: number }).Size ?? 0;
    } catch { /* the image is gone: its size is unknown */ }
    return { SizeRw: rw, SizeRootFs: rw + image };
  }

  // ---- rebuild at berthd's start ----

  /**
   * Rebuilds the view from the DB and the core's tasks: a running task is
   * watched again, an exited one recorded with its code, a vanished one
   * (a reboot) recorded as exited 255; then restart policies and pending
   * removals are carried out.
   */
  async restore(): Promise<void> {
    const { tasks } = await this.o.core.tasks.List({ filters: [] });
    const byId = new Map<string, Process>(tasks.filter((t) => t.execId === '').map((t) => [t.containerId, t]));
    for (const c of this.store.list()) {
      try {
        await this.restoreOne(c, byId.get(c.ID));
      } catch (err) {
        this.o.log.error('cannot restore container', { id: c.ID, error: (err as Error).message });
      }
    }
    await dropOrphans(this.o.core, (id) => this.store.get(id) !== undefined, this.o.config, this.o.log)
      .catch((err: unknown) => this.o.log.error('cannot remove what unfinished creates left', { error: (err as Error).message }));
  }

  private async restoreOne(c: ContainerRecord, t: Process | undefined): Promise<void> {
    // dockerd finishes, at its start, the removals of dead containers and of those it was removing
    if (c.State.Status === 'removing' || c.State.Status === 'dead') { await this.remove(c.ID, { force: true, volumes: false }); return; }
    const live = t && (t.status === 'RUNNING' || t.status === 'PAUSED' || t.status === 'PAUSING');
    if (live) {
      const gen = ++this.generation;
      this.runs.set(c.ID, { startedMs: Date.parse(c.State.StartedAt) || Date.now(), generation: gen });
      const status: ContainerStatus = t.status === 'RUNNING' ? 'running' : 'paused';
      if (c.State.Status !== status || c.State.Pid !== t.pid) this.setState(c, status, { Pid: t.pid });
      this.watch(c.ID, gen);
      return;
    }
    if (c.State.Status === 'running' || c.State.Status === 'paused') {
      // the run ended while berthd was away: its code from the core, or 255 when the task is gone
      const kept = Date.parse(c.State.FinishedAt) >= Date.parse(c.State.StartedAt) ? c.State.ExitCode : 255;
      const code = t && t.status === 'STOPPED' ? t.exitStatus : kept;
      const oom = t?.oomKilled === true;
      await this.deleteTask(c.ID).catch(() => undefined);
      await this.o.network.detach(c).catch(() => undefined);
      this.setState(c, 'exited', { Pid: 0, ExitCode: code, OOMKilled: oom, FinishedAt: t?.exitedAt ? new Date(Number(t.exitedAt.seconds) * 1000).toISOString() : nowIso() });
      if (oom) this.publish(c, 'oom');
      this.publish(c, 'die', { exitCode: String(code) });
      if (c.HostConfig.AutoRemove) { await this.removeQuietly(c); return; }
      if (restartOnDaemonStart(c.HostConfig.RestartPolicy, c.State.StoppedByUser)
        || shouldRestart({ policy: c.HostConfig.RestartPolicy, exitCode: code, stoppedByUser: c.State.StoppedByUser, restartCount: c.RestartCount })) {
        await this.startAfterRestore(c);
      }
      return;
    }
    if (c.State.Status === 'restarting' || (c.State.Status === 'exited' && restartOnDaemonStart(c.HostConfig.RestartPolicy, c.State.StoppedByUser))) {
      await this.startAfterRestore(c);
    }
  }

  private async startAfterRestore(c: ContainerRecord): Promise<void> {
    this.setState(c, 'restarting');
    this.backoff.set(c.ID, BACKOFF_START_MS);
    await this.policyRestart(c.ID);
  }

  /** Stops watching (berthd stops; containers keep running). */
  close(): void {
    this.closed = true;
    for (const t of this.pendingRestarts.values()) clearTimeout(t);
    this.pendingRestarts.clear();
  }
}
