/**
 * The client end of Tasks.Attach (services/attach.ts): a process's output as
 * an async iterable, input to its stdin, and its exit. Built by
 * CoreClient.attach, which resolves once the core says the attach is in
 * place, so output produced afterwards is not missed.
 */
import * as grpc from '@grpc/grpc-js';
import { unavailable } from '../common/errors.js';
import type { AttachRequest, AttachResponse, Timestamp } from './api/types.js';

export interface CoreAttachOptions {
  containerId: string;
  /** an exec; absent means the init */
  execId?: string;
  /** send input (the process needs a stdin opened at Create/Exec, or a terminal); default false */
  stdin?: boolean;
  /** default true */
  stdout?: boolean;
  /** default true */
  stderr?: boolean;
  /**
   * replay the process's log (its output so far, as written) before the live
   * output, nothing lost or repeated where they meet; a stopped process gives
   * its log and its exit. Default false
   */
  logs?: boolean;
}

export interface CoreAttachChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface CoreAttachExit {
  status: number;
  exitedAt: Timestamp | null;
}

export interface CoreAttachment extends AsyncIterable<CoreAttachChunk> {
  /** Sends bytes to the process's stdin. */
  write(data: string | Uint8Array): Promise<void>;
  /** The process sees EOF after what was written. */
  closeStdin(): Promise<void>;
  /** Detaches; the process carries on. */
  close(): void;
  /** The exit when the process exits while attached; undefined when detached first. Rejects when the attach failed. */
  readonly exit: Promise<CoreAttachExit | undefined>;
}

export type AttachCall = grpc.ClientDuplexStream<Partial<AttachRequest>, AttachResponse>;

/**
 * Bytes held for a consumer that is not iterating before the call is paused
 * (resumed below a quarter): gRPC's flow control then stops the core, the
 * core stops reading the shim, and the shim stops reading the process
 * (backpressure). Counted in bytes, since the core merges chunks (coalesce).
 */
const HIGH_WATER = 512 * 1024;

class CallAttachment implements CoreAttachment {
  private readonly chunks: CoreAttachChunk[] = [];
  private queued = 0;
  private waiting: { resolve: (r: IteratorResult<CoreAttachChunk>) => void; reject: (e: Error) => void } | undefined;
  private ended = false;
  private failure: Error | undefined;
  private settle!: (x: CoreAttachExit | undefined) => void;
  private fail!: (e: Error) => void;
  private exitSeen: CoreAttachExit | undefined;
  readonly exit: Promise<CoreAttachExit | undefined>;

  constructor(private readonly call: AttachCall) {
    this.exit = new Promise((resolve, reject) => { this.settle = resolve; this.fail = reject; });
    // a caller that never looks at exit must not see an unhandled rejection
    this.exit.catch(() => undefined);
  }

  onResponse(r: AttachResponse): void {
    if (r.exited) { this.exitSeen = { status: r.exitStatus, exitedAt: r.exitedAt }; return; }
    if (r.data.length === 0) return;
    const c: CoreAttachChunk = { stream: r.stream === 'stderr' ? 'stderr' : 'stdout', data: r.data };
    if (this.waiting) { const w = this.waiting; this.waiting = undefined; w.resolve({ value: c, done: false }); return; }
    this.chunks.push(c);
    this.queued += c.data.length;
    if (this.queued >= HIGH_WATER && !this.call.isPaused()) this.call.pause();
  }

  onEnd(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    if (err) { this.failure = err; this.fail(err); } else this.settle(this.exitSeen);
    const w = this.waiting;
    this.waiting = undefined;
    if (w) { if (err) w.reject(err); else w.resolve({ value: undefined, done: true }); }
  }

  private next(): Promise<IteratorResult<CoreAttachChunk>> {
    const c = this.chunks.shift();
    if (c) this.queued -= c.data.length;
    if (this.queued < HIGH_WATER / 4 && this.call.isPaused() && !this.ended) this.call.resume();
    if (c) return Promise.resolve({ value: c, done: false });
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => { this.waiting = { resolve, reject }; });
  }

  [Symbol.asyncIterator](): AsyncIterator<CoreAttachChunk> {
    return { next: () => this.next(), return: () => { this.close(); return Promise.resolve({ value: undefined, done: true }); } };
  }

  private send(req: Partial<AttachRequest>): Promise<void> {
    if (this.ended) return Promise.reject(unavailable('cannot write to the process: the attach has ended'));
    return new Promise((resolve) => {
      if (this.call.write(req)) resolve(); else this.call.once('drain', () => resolve());
    });
  }

  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    for (let off = 0; off < bytes.length; off += 64 * 1024) await this.send({ data: bytes.subarray(off, off + 64 * 1024) });
  }

  closeStdin(): Promise<void> {
    return this.send({ closeStdin: true });
  }

  close(): void {
    if (this.ended) return;
    this.call.cancel();
    this.onEnd();
  }
}

/**
 * Sends the first request on call and resolves once the core answers
 * `ready`; rejects with the core's error (toError) when it refuses.
 */
export function startAttachment(call: AttachCall, o: CoreAttachOptions, toError: (e: grpc.ServiceError) => Error): Promise<CoreAttachment> {
  return new Promise((resolve, reject) => {
    const a = new CallAttachment(call);
    let ready = false;
    call.on('data', (r: AttachResponse) => {
      if (!ready && r.ready) { ready = true; resolve(a); return; }
      a.onResponse(r);
    });
    call.on('error', (e: grpc.ServiceError) => {
      if (e.code === grpc.status.CANCELLED) { a.onEnd(); return; }
      const err = toError(e);
      if (!ready) { ready = true; reject(err); }
      a.onEnd(err);
    });
    call.on('end', () => {
      if (!ready) { ready = true; reject(unavailable(`cannot attach to task ${o.containerId}: the core ended the call`)); }
      a.onEnd();
    });
    call.write({
      containerId: o.containerId, execId: o.execId ?? '', stdin: o.stdin === true,
      stdout: o.stdout !== false, stderr: o.stderr !== false, logs: o.logs === true,
    });
  });
}

/** Largest merged chunk: well under gRPC's 4 MiB message limit. */
const COALESCE_MAX = 1 << 20;

/**
 * The chunks of `source`, consecutive ones of one stream merged when they
 * are already there: after each chunk, what arrives before the next turn
 * of the event loop (a burst read from one socket) joins it, up to 1 MiB.
 * A process writing fast then costs a few large messages downstream, not
 * thousands of small ones; one writing a line now and then is not delayed
 * beyond that one turn. Nothing is read ahead that was not produced.
 */
export async function* coalesce<C extends { stream: 'stdout' | 'stderr'; data: Buffer }>(source: AsyncIterable<C>, max = COALESCE_MAX): AsyncGenerator<{ stream: C['stream']; data: Buffer }> {
  const it = source[Symbol.asyncIterator]();
  const LATER = Symbol('later');
  let ahead: Promise<IteratorResult<C>> | undefined;
  let carry: C | undefined;
  try {
    for (;;) {
      let first = carry;
      carry = undefined;
      if (!first) {
        const r = await (ahead ?? it.next());
        ahead = undefined;
        if (r.done) return;
        first = r.value;
      }
      const parts = [first.data];
      let size = first.data.length;
      while (size < max) {
        const p = it.next();
        const turn = new Promise<typeof LATER>((resolve) => setImmediate(() => resolve(LATER)));
        const r = await Promise.race([p, turn]);
        if (r === LATER || r.done) { ahead = p; break; }
        if (r.value.stream !== first.stream) { carry = r.value; break; }
        parts.push(r.value.data);
        size += r.value.data.length;
      }
      yield { stream: first.stream, data: parts.length === 1 ? parts[0]! : Buffer.concat(parts, size) };
    }
  } finally {
    // a consumer that stops early ends the source too (detach)
    if (ahead === undefined) await it.return?.();
    else void it.return?.();
  }
}
