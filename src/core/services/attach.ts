/**
 * Tasks.Attach: one bidirectional stream relayed to one ATTACH connection of
 * the task's shim. The first request names the process and its streams;
 * the shim's OK becomes a `ready` response (output from then on is not
 * missed), its output frames become data responses, its exit the last
 * response. Later requests carry stdin data or close stdin. Each call opens
 * its own shim connection, so it works the same after a restart of the
 * core. A caller that cancels detaches; the process carries on.
 *
 * With `logs`, the process's json-file log is replayed first, up to where
 * the shim said it stood when it took the attacher, then the bytes of lines
 * it held unfinished, then the live output (tasks/logreplay.ts); a stopped
 * process gets its log and its exit.
 */
import * as grpc from '@grpc/grpc-js';
import { BerthError, failedPrecondition, invalidArgument } from '../../common/errors.js';
import { ShimClient } from '../../shim/client.js';
import { coalesce } from '../attachment.js';
import type { AttachRequest, AttachResponse } from '../api/types.js';
import { toStatus } from '../errors.js';
import { checkIdentifier } from '../identifiers.js';
import { readJsonLog, readLogUntil, replayBeforeSeam, type LogChunk } from '../tasks/logreplay.js';
import type { TaskManager } from '../tasks/manager.js';
import { namespaceOf } from './context.js';
import { timestampOfNs } from './tasks.js';

type Attachment = Awaited<ReturnType<ShimClient['attach']>>;
type AttachCall = grpc.ServerDuplexStream<AttachRequest, AttachResponse>;

const EMPTY: AttachResponse = { ready: false, stream: '', data: Buffer.alloc(0), exited: false, exitStatus: 0, exitedAt: null };

/** Input requests in order: each one waits for the one before, so bytes reach the process in order. */
class InputQueue {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly fail: (err: unknown) => void) {}
  push(job: () => Promise<void>): void {
    this.tail = this.tail.then(job).catch((err: unknown) => { this.fail(err); });
  }
}

/** What an attach reaches: a live process's shim attach, or (logs of a stopped one) its exit. */
interface Opened {
  attachment?: Attachment;
  /** the shim of a live attach (a rotating log's generation is asked of it) */
  shim?: ShimClient;
  /** the process's json-file log */
  log: string;
  /** a stopped process's recorded exit (attach with logs only) */
  exit?: { status: number; exitedAt: bigint };
}

async function openFor(tasks: TaskManager, ns: string, req: AttachRequest): Promise<Opened> {
  const id = checkIdentifier('container', req.containerId);
  if (req.execId !== '') checkIdentifier('container', req.execId);
  const t = tasks.get(ns, id);
  const e = req.execId !== '' ? tasks.execs.get(ns, id, req.execId) : undefined;
  if (!req.stdin && !req.stdout && !req.stderr) throw invalidArgument(`cannot attach to task ${id}: no stream asked for (stdin, stdout, stderr)`);
  const log = e ? e.log : t.log;
  // a stopped process has no live output left, but its log and exit are still worth giving
  if (req.logs && !req.stdin && (e ? e.status === 'stopped' : t.status === 'stopped')) {
    return { log, exit: e ? { status: e.exitStatus, exitedAt: e.exitedAt } : { status: t.exitStatus, exitedAt: t.exitedAt } };
  }
  if (t.status === 'stopped' || t.status === 'creating') throw failedPrecondition(`cannot attach to task ${id}: it is ${t.status === 'stopped' ? 'stopped' : 'still being created'}`);
  if (e && e.status !== 'running') throw failedPrecondition(`cannot attach to exec ${req.execId} in task ${id}: it is ${e.status}`);
  let shim: ShimClient;
  try { shim = await ShimClient.connect(t.socket); } catch (err) {
    throw new BerthError('unavailable', `cannot attach to task ${id}: cannot reach its shim: ${(err as Error).message}`, { cause: err });
  }
  const opts = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, ...(req.execId !== '' ? { execId: req.execId } : {}) };
  return { attachment: await shim.attach(opts), shim, log };
}

export function attachHandler(tasks: TaskManager, log: { debug(msg: string, f?: Record<string, unknown>): void }): grpc.handleBidiStreamingCall<AttachRequest, AttachResponse> {
  return (call: AttachCall): void => {
    let attachment: Attachment | undefined;
    let finished = false;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      attachment?.close();
      if (err === undefined) { call.end(); return; }
      const status = toStatus(err);
      log.debug('attach failed', { code: status.code, error: status.details });
      // grpc-js turns an 'error' on a server stream into the call's status (destroy would skip it)
      call.emit('error', Object.assign(new Error(status.details), status));
    };
    const input = new InputQueue(finish);
    let first = true;
    call.on('data', (req: AttachRequest) => {
      if (first) {
        first = false;
        input.push(async () => {
          const opened = await openFor(tasks, namespaceOf(call.metadata), req);
          attachment = opened.attachment;
          if (finished) { attachment?.close(); return; }
          call.write({ ...EMPTY, ready: true });
          const logs = req.logs ? { path: opened.log, streams: { stdout: req.stdout, stderr: req.stderr } } : undefined;
          const done = attachment && opened.shim ? relay(call, { attachment, shim: opened.shim }, logs) : replayStopped(call, logs!, opened.exit!);
          void done.then(() => finish(), finish);
        });
        return;
      }
      input.push(async () => {
        if (!attachment || finished) return;
        if (req.data.length > 0) await attachment.write(req.data);
        if (req.closeStdin) await attachment.closeStdin();
      });
    });
    // a client that half-closes still reads the output; only a cancel detaches
    call.on('cancelled', () => { finished = true; attachment?.close(); });
    call.on('error', () => { finished = true; attachment?.close(); });
  };
}

interface LogsAsked { path: string; streams: Record<'stdout' | 'stderr', boolean> }

type Chunk = { stream: 'stdout' | 'stderr'; data: Buffer };

/** Writes one output chunk, waiting while the caller's stream is full (the shim's attach stays bounded). */
async function send(call: AttachCall, chunk: Chunk): Promise<void> {
  if (!call.write({ ...EMPTY, stream: chunk.stream, data: chunk.data })) {
    await new Promise<void>((resolve) => { call.once('drain', resolve); call.once('close', resolve); });
  }
}

async function sendLog(call: AttachCall, chunks: LogChunk[], streams: LogsAsked['streams']): Promise<void> {
  for (const c of chunks) {
    if (call.cancelled) return;
    if (streams[c.stream]) await send(call, c);
  }
}

/** Live output held while the log is replayed; past it the shim holds the process back. */
const LIVE_CAP = 4 << 20;

/**
 * The attachment's output, taken as it comes while the log is read (a long
 * log takes a while; the process carries on meanwhile, up to LIVE_CAP
 * bytes, then the shim's backpressure slows it). Handed on in order
 * afterwards.
 */
class LiveOutput {
  private readonly queue: Chunk[] = [];
  private queued = 0;
  private readonly it: AsyncIterator<Chunk>;
  private stopped = false;
  private ended = false;
  private readonly pumping: Promise<void>;

  constructor(source: AsyncIterable<Chunk>) {
    this.it = source[Symbol.asyncIterator]();
    this.pumping = this.pump();
  }

  private async pump(): Promise<void> {
    while (!this.stopped && this.queued < LIVE_CAP) {
      const r = await this.it.next();
      if (r.done) { this.ended = true; return; }
      this.queue.push(r.value);
      this.queued += r.value.data.length;
    }
  }

  /** Everything, in order: what was taken, then the rest straight from the source. */
  async *rest(): AsyncGenerator<Chunk> {
    this.stopped = true;
    while (this.queue.length > 0) yield this.queue.shift()!;
    await this.pumping; // its last read, still pending, lands in the queue
    while (this.queue.length > 0) yield this.queue.shift()!;
    if (this.ended) return;
    for (;;) {
      const r = await this.it.next();
      if (r.done) return;
      yield r.value;
    }
  }
}

/**
 * The replay of an attach with logs, from the seam the shim gave with its
 * OK (tasks/logreplay.ts): the log up to its position, then the lines it
 * held unfinished. Only a rotating log asks the shim again (its generation).
 */
async function replayed(attachment: Attachment, logs: LogsAsked, shim: ShimClient): Promise<LogChunk[]> {
  const { log, pending } = attachment.seam;
  if (!log) return replayBeforeSeam([], pending);
  const generation = async (): Promise<number> => (await shim.state()).log?.generation ?? log.generation;
  return replayBeforeSeam(await readLogUntil(logs.path, log, generation), pending);
}

/** Output to the caller until the shim ends the attach (the log first, when asked); then the exit, when there is one. */
async function relay(call: AttachCall, opened: Required<Pick<Opened, 'attachment' | 'shim'>>, logs: LogsAsked | undefined): Promise<void> {
  const { attachment } = opened;
  const live = new LiveOutput(attachment);
  if (logs) await sendLog(call, await replayed(attachment, logs, opened.shim), logs.streams);
  // output the shim sent in a burst goes on as one message (attachment.ts's coalesce)
  for await (const chunk of coalesce(live.rest())) {
    if (call.cancelled) return;
    await send(call, chunk);
  }
  const exit = await attachment.exit;
  if (call.cancelled) return;
  if (!exit) throw new BerthError('unavailable', 'attach ended: the shim closed the connection before the process exited');
  call.write({ ...EMPTY, exited: true, exitStatus: exit.status, exitedAt: timestampOfNs(exit.exitedAt) });
}

/** Attach with logs to a stopped process: its whole log, then its exit. */
async function replayStopped(call: AttachCall, logs: LogsAsked, exit: { status: number; exitedAt: bigint }): Promise<void> {
  await sendLog(call, readJsonLog(logs.path), logs.streams);
  if (call.cancelled) return;
  call.write({ ...EMPTY, exited: true, exitStatus: exit.status, exitedAt: timestampOfNs(exit.exitedAt) });
}
