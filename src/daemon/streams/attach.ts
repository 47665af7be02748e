/**
 * Attach to a container's init: live when it runs; when it has not started
 * yet, held until its task exists (a start hook attaches between the
 * task's create and start, so the first byte is not missed); with `logs`,
 * the output so far first (the core replays it for a live task; the log
 * file is read for a stopped one).
 */
import { failedPrecondition } from '../../common/errors.js';
import type { AttachedProcess, AttachOptions, OutputChunk, OutputConnection } from '../../api/index.js';
import type { CoreAttachment } from '../../core/attachment.js';
import type { CoreClient } from '../../core/client.js';
import type { ContainerRecord, ContainerService } from '../containers/index.js';
import { readLog } from '../logs/reader.js';
import { attachAtShim } from './direct.js';
import { CoreSession } from './session.js';

interface Waiter {
  opts: AttachOptions;
  resolve: (a: CoreAttachment | undefined) => void;
  reject: (e: Error) => void;
  /** the client's connection, when the route offers it: the shim writes the output there */
  output?: OutputConnection;
}

export class Attacher {
  private readonly waiting = new Map<string, Set<Waiter>>();
  /** stdio at the shim itself (direct.ts); BERTH_ATTACH_VIA_CORE=1 relays it through the core, to compare */
  private readonly direct = process.env.BERTH_ATTACH_VIA_CORE !== '1';
  /** the shim writes a `run` attached's output to the client itself; BERTH_ATTACH_NO_HANDOVER=1 relays it here, to compare */
  private readonly handOver = process.env.BERTH_ATTACH_NO_HANDOVER !== '1';

  constructor(private readonly core: CoreClient, private readonly containers: ContainerService) {
    containers.addStartHook((c, task) => this.onTaskCreated(c, task.shimAddress));
    containers.on('removed', (id) => this.release(id));
  }

  private coreOptions(c: ContainerRecord, opts: AttachOptions, logs: boolean): Parameters<CoreClient['attach']>[0] {
    return { containerId: c.ID, stdin: opts.stdin && c.Config.OpenStdin === true, stdout: opts.stdout, stderr: opts.stderr, logs };
  }

  /** The task exists, its process not started: every waiting attach joins now. */
  private async onTaskCreated(c: ContainerRecord, shimAddress: string): Promise<void> {
    const set = this.waiting.get(c.ID);
    if (!set) return;
    this.waiting.delete(c.ID);
    for (const w of set) {
      try { w.resolve(await this.open(c, w.opts, false, shimAddress, w.output)); } catch (err) { w.reject(err as Error); }
    }
  }

  /**
   * A live process's attach: at its shim when the core names one that answers here and no log
   * replay is asked for, else through the core (which also gives the canonical refusal). With
   * `output` (the client's connection), the shim writes the output there itself.
   */
  private async open(c: ContainerRecord, opts: AttachOptions, logs: boolean, shimAddress?: string, output?: OutputConnection): Promise<CoreAttachment> {
    const o = this.coreOptions(c, opts, logs);
    if (this.direct && !logs) {
      const address = shimAddress ?? (await this.core.tasks.State({ containerId: c.ID, execId: '' }).catch(() => undefined))?.process?.shimAddress;
      if (address) {
        try { return await attachAtShim(address, o, output); } catch { /* the core's attach decides */ }
      }
    }
    return this.core.attach(o);
  }

  private release(id: string): void {
    const set = this.waiting.get(id);
    this.waiting.delete(id);
    for (const w of set ?? []) w.resolve(undefined);
  }

  /** The attach that joins at the next start, and how to hand it the client's connection before then. */
  private wait(c: ContainerRecord, opts: AttachOptions, signal: AbortSignal): { pending: Promise<CoreAttachment | undefined>; offer: (o: OutputConnection) => void } {
    let waiter: Waiter | undefined;
    const pending = new Promise<CoreAttachment | undefined>((resolve, reject) => {
      const w: Waiter = { opts, resolve, reject };
      waiter = w;
      const set = this.waiting.get(c.ID) ?? new Set<Waiter>();
      set.add(w);
      this.waiting.set(c.ID, set);
      signal.addEventListener('abort', () => { set.delete(w); resolve(undefined); }, { once: true });
    });
    return { pending, offer: (o) => { if (waiter && this.handOver) waiter.output = o; } };
  }

  private async *pastLog(c: ContainerRecord, opts: AttachOptions): AsyncGenerator<OutputChunk> {
    if (c.LogPath === '') return;
    const stop = new AbortController();
    for await (const batch of readLog(c.LogPath, { stdout: opts.stdout, stderr: opts.stderr, follow: false, merge: true }, stop.signal)) {
      for (const e of batch) yield { stream: e.stream, data: e.data };
    }
  }

  async attach(ref: string, opts: AttachOptions, signal: AbortSignal): Promise<AttachedProcess> {
    const c = this.containers.get(ref);
    const live = c.State.Status === 'running' || c.State.Status === 'paused';
    const base = { tty: c.Config.Tty === true, closeStdinOnEnd: c.Config.StdinOnce === true, detachKeys: '' };
    if (live && opts.stream) {
      const a = await this.open(c, opts, opts.logs);
      return { ...base, session: new CoreSession(Promise.resolve(a)) };
    }
    const prefix = opts.logs ? this.pastLog(c, opts) : undefined;
    if (!opts.stream) return { ...base, session: new CoreSession(Promise.resolve(undefined), prefix) };
    // not running: the session goes live at the next start (`docker run` attaches before it starts)
    const { pending, offer } = this.wait(c, opts, signal);
    return { ...base, session: new CoreSession(pending, prefix, undefined, offer) };
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.containers.get(ref);
    if (c.State.Status !== 'running' && c.State.Status !== 'paused') throw failedPrecondition(`Container ${c.ID} is not running`);
    if (height <= 0 || width <= 0) return;
    await this.core.tasks.ResizePty({ containerId: c.ID, execId: '', width, height });
  }
}
