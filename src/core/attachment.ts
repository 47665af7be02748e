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
 * Chunks (up to 8 KiB each) held for a consumer that is not iterating before
 * the call is paused: gRPC's flow control then stops the core, the core stops
 * reading the shim, and the shim stops reading the process (backpressure).
 */
const HIGH_WATER = 128;

class CallAttachment implements CoreAttachment {
  private readonly chunks: CoreAttachChunk[] = [];
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
    if (this.chunks.length >= HIGH_WATER && !this.call.isPaused()) this.call.pause();
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
    if (this.chunks.length < HIGH_WATER / 4 && this.call.isPaused() && !this.ended) this.call.resume();
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
