/**
 * The API's ContainerStreamsBackend: attach, logs, exec, resize, top,
 * stats, archive, export and changes of berthd's containers, on the core
 * client and the container service.
 */
import { EventEmitter } from 'node:events';
import { lstatSync } from 'node:fs';
import { join, posix } from 'node:path';
import type {
  ArchivePutOptions, AttachedProcess, AttachOptions, ContainerStreamsBackend, ExecStartOptions, LogRecord, LogsOptions, PathStat,
} from '../../api/index.js';
import { BerthError, failedPrecondition, invalidArgument, notFound } from '../../common/errors.js';
import type { CoreClient } from '../../core/client.js';
import type { DaemonConfig } from '../config.js';
import type { ContainerRecord, ContainerService } from '../containers/index.js';
import { withRootfs } from '../containers/rootfs.js';
import { changes, overlayDirs } from '../archive/changes.js';
import { extractInto } from '../archive/extract.js';
import { packPath } from '../archive/pack.js';
import { resolveInRoot } from '../archive/resolve.js';
import { pathStat } from '../archive/stat.js';
import { ExecService } from '../exec/service.js';
import { readLog } from '../logs/reader.js';
import { statsDocument, type StatsSample } from '../stats/convert.js';
import { sample } from '../stats/sampler.js';
import { top } from '../stats/top.js';
import { Attacher } from './attach.js';

export interface EngineStreamsOptions { core: CoreClient; containers: ContainerService; config: DaemonConfig }

const isLive = (c: ContainerRecord): boolean => c.State.Status === 'running' || c.State.Status === 'paused';

export class EngineStreams implements ContainerStreamsBackend {
  readonly exec: ExecService;
  private readonly attacher: Attacher;

  /** 'ended' (id): a container exited or was removed (ContainerService has no `off`, so one listener relays) */
  private readonly ended = new EventEmitter();

  constructor(private readonly o: EngineStreamsOptions) {
    this.ended.setMaxListeners(0);
    o.containers.on('exit', (id) => this.ended.emit('ended', id));
    o.containers.on('removed', (id) => this.ended.emit('ended', id));
    this.exec = new ExecService(o.core, o.containers);
    this.attacher = new Attacher(o.core, o.containers);
  }

  attach(ref: string, opts: AttachOptions, signal: AbortSignal): Promise<AttachedProcess> { return this.attacher.attach(ref, opts, signal); }
  resize(ref: string, height: number, width: number): Promise<void> { return this.attacher.resize(ref, height, width); }

  // ---- logs ----

  async logs(ref: string, opts: LogsOptions, signal: AbortSignal): Promise<{ tty: boolean; records: AsyncIterable<LogRecord[]> }> {
    const c = this.o.containers.get(ref);
    const driver = c.HostConfig.LogConfig?.Type ?? 'json-file';
    if (c.LogPath === '' || (driver !== 'json-file' && driver !== 'local' && driver !== '')) {
      throw invalidArgument(`configured logging driver does not support reading`);
    }
    // following ends when the container stops (or the client leaves)
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const onExit = (id: string): void => { if (id === c.ID) stop.abort(); };
    this.ended.on('ended', onExit);
    if (opts.follow && !isLive(c) && c.State.Status !== 'restarting') stop.abort();
    // runs of one stream come as one record each (and the times, when asked, inside the text): a big log is a few records per block
    const q = { stdout: opts.stdout, stderr: opts.stderr, sinceNs: opts.sinceNs, untilNs: opts.untilNs, tail: opts.tail, follow: opts.follow, merge: true, timestamps: opts.timestamps === true };
    if (opts.untilNs !== undefined && opts.untilNs <= BigInt(Date.now()) * 1_000_000n) q.follow = false;
    // following also ends at `until`, as with dockerd
    const untilTimer = q.follow && opts.untilNs !== undefined ? setTimeout(() => stop.abort(), Number(opts.untilNs / 1_000_000n) - Date.now()) : undefined;
    const ended = this.ended;
    async function* records(): AsyncGenerator<LogRecord[]> {
      try {
        yield* readLog(c.LogPath, q, stop.signal);
      } finally {
        clearTimeout(untilTimer);
        signal.removeEventListener('abort', onAbort);
        ended.off('ended', onExit);
      }
    }
    return { tty: c.Config.Tty === true, records: records() };
  }

  // ---- exec ----

  async execCreate(ref: string, body: Record<string, unknown>): Promise<{ Id: string }> { return this.exec.create(ref, body); }
  execStart(id: string, opts: ExecStartOptions): Promise<AttachedProcess | undefined> { return this.exec.start(id, opts); }
  execResize(id: string, height: number, width: number): Promise<void> { return this.exec.resize(id, height, width); }
  async execInspect(id: string): Promise<Record<string, unknown>> { return this.exec.inspect(id); }

  // ---- top, stats ----

  async top(ref: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const c = this.o.containers.get(ref);
    if (!isLive(c) || c.State.Pid <= 0) throw failedPrecondition(`Container ${c.ID} is not running`);
    return top(c.State.Pid, psArgs);
  }

  async *stats(ref: string, opts: { stream: boolean; oneShot: boolean }, signal: AbortSignal): AsyncGenerator<Record<string, unknown>> {
    const c = this.o.containers.get(ref);
    const name = c.Name;
    let prev: StatsSample | undefined;
    const take = async (): Promise<StatsSample | undefined> => {
      const now = this.o.containers.get(c.ID);
      if (!isLive(now)) return undefined;
      try { return await sample(this.o.core, c.ID, now.State.Pid); } catch (err) {
        if (err instanceof BerthError && (err.kind === 'not-found' || err.kind === 'failed-precondition')) return undefined;
        throw err;
      }
    };
    const empty = (): Record<string, unknown> => statsDocument(c.ID, name, { read: '0001-01-01T00:00:00Z', metrics: {}, host: { systemCpuNs: 0, onlineCpus: 0, memTotal: 0 }, networks: undefined }, undefined);
    const sleep = (ms: number): Promise<void> => new Promise((r) => { const t = setTimeout(r, ms); signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true }); });
    if (!opts.stream && !opts.oneShot) {
      // like dockerd: two samples a second apart, so cpu percentages can be computed
      prev = await take();
      if (prev) await sleep(1000);
    }
    for (;;) {
      const cur = await take();
      if (!cur) { yield empty(); return; }
      yield statsDocument(c.ID, name, cur, prev);
      if (!opts.stream || signal.aborted) return;
      prev = cur;
      await sleep(1000);
      if (signal.aborted) return;
    }
  }

  // ---- files ----

  /** Runs fn with the container's root on the host: its init's root while it runs, else its snapshot mounted for the call. */
  private async withRoot<T>(c: ContainerRecord, fn: (root: string) => Promise<T>): Promise<T> {
    if (isLive(c) && c.State.Pid > 0) return fn(`/proc/${c.State.Pid}/root`);
    const { mounts } = await this.o.core.snapshots.Mounts({ snapshotter: c.Snapshotter, key: c.ID });
    return withRootfs(mounts, join(this.o.config.execRoot, 'containers', 'views'), fn);
  }

  private statIn(c: ContainerRecord, root: string, path: string): { stat: PathStat; host: string } {
    const abs = posix.normalize(`/${path}`);
    // the stat is of the path itself; a final symlink's target is told in linkTarget
    const r = resolveInRoot(root, abs, false);
    let st;
    try { st = lstatSync(r.host); } catch { throw notFound(`Could not find the file ${path} in container ${c.Name.slice(1)}`); }
    let linkTarget = '';
    if (st.isSymbolicLink()) linkTarget = resolveInRoot(root, abs, true).inContainer;
    const name = posix.basename(abs) || '/';
    return { stat: pathStat(name, st, linkTarget), host: r.host };
  }

  async statPath(ref: string, path: string): Promise<PathStat> {
    const c = this.o.containers.get(ref);
    return this.withRoot(c, async (root) => this.statIn(c, root, path).stat);
  }

  async getArchive(ref: string, path: string, send: (stat: PathStat, tar: AsyncIterable<Buffer>) => Promise<void>): Promise<void> {
    const c = this.o.containers.get(ref);
    await this.withRoot(c, async (root) => {
      const abs = posix.normalize(`/${path}`);
      const { stat } = this.statIn(c, root, path);
      // a trailing "/" or "/." asks for the target of a link (docker cp's rules); else the path itself
      const follow = path.endsWith('/') || path.endsWith('/.');
      const r = resolveInRoot(root, abs, follow);
      const name = path.endsWith('/.') ? '.' : posix.basename(abs) || '.';
      await send(stat, packPath(r.host, name) as unknown as AsyncIterable<Buffer>);
    });
  }

  async putArchive(ref: string, path: string, body: AsyncIterable<Buffer>, opts: ArchivePutOptions): Promise<void> {
    const c = this.o.containers.get(ref);
    if (c.HostConfig.ReadonlyRootfs) throw failedPrecondition(`container rootfs is marked read-only`);
    await this.withRoot(c, async (root) => {
      const r = resolveInRoot(root, posix.normalize(`/${path}`), true);
      let st;
      try { st = lstatSync(r.host); } catch { throw notFound(`Could not find the file ${path} in container ${c.Name.slice(1)}`); }
      if (!st.isDirectory()) throw invalidArgument(`extraction point is not a directory`);
      await extractInto(root, r.inContainer, body, opts);
    });
  }

  async exportContainer(ref: string): Promise<AsyncIterable<Buffer>> {
    const c = this.o.containers.get(ref);
    return this.o.core.exportContainer(c.ID);
  }

  async changes(ref: string): Promise<{ Path: string; Kind: number }[]> {
    const c = this.o.containers.get(ref);
    const { mounts } = await this.o.core.snapshots.Mounts({ snapshotter: c.Snapshotter, key: c.ID });
    const dirs = overlayDirs(mounts);
    if (!dirs) throw failedPrecondition(`cannot list the changes of container ${c.Name.slice(1)}: its snapshot is not an overlay`);
    return changes(dirs.upper, dirs.lowers);
  }
}
