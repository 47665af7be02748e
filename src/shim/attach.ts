/**
 * An attach connection to berth-shim (protocol.ts, ATTACH): the process's
 * output as it is produced, and input sent to its stdin. The shim drops an
 * attacher more than 1 MiB behind, so a consumer should keep iterating.
 */
import { connect, type Socket } from 'node:net';
import { BerthError, unavailable, wrap } from '../common/errors.js';
import { native } from '../common/native.js';
import { FrameReader } from '../runtime/plan/wire.js';
import { decodeShimMessage, encodeShimMessage, findRecord, type ShimEntry, type ShimMessage } from './codec.js';
import { ShimAttachFrame, ShimReply, ShimRequest } from './protocol.js';
import { socketFd } from '../common/socket-fd.js';

export interface AttachOptions {
  /** an exec; absent means the init */
  execId?: string;
  /** send input (the process must have an open stdin or a terminal); default false */
  stdin?: boolean;
  /** default true */
  stdout?: boolean;
  /** default true */
  stderr?: boolean;
  /**
   * The output goes to this descriptor, written by the shim itself (OUTPUT_FD
   * in protocol.ts): the attachment then yields no output, only the exit, once
   * the shim has written everything and let the descriptor go.
   */
  output?: OutputTarget;
}

/**
 * A client's connection the shim may write a process's output to: stdcopy
 * frames, or raw bytes (a TTY). `fd()` is read when the request is sent and
 * says undefined when the connection is gone by then (the output then comes
 * on the attachment as usual).
 */
export interface OutputTarget {
  framing: 'stdcopy' | 'raw';
  fd(): number | undefined;
}

export interface AttachChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface AttachExit {
  status: number;
  exitedAt: bigint;
}

/** Where a json-file log stood at a moment (protocol.ts, LOG_POS). */
export interface LogPosition {
  /** rotations so far */
  generation: number;
  /** the file being written (found by it among name, name.1 …); 0n: no log file */
  inode: bigint;
  /** its length then, whole entries */
  offset: number;
  /** 0: never rotated; 1: rotation empties the file; N: N files kept */
  maxFile: number;
}

/**
 * The process's output up to the attach, as the shim saw it when it took the
 * attacher: the log up to `log`, then `pending` (lines not complete yet, not
 * logged yet); the first output frame follows them.
 */
export interface AttachSeam {
  log: LogPosition | undefined;
  pending: { stdout: Buffer; stderr: Buffer };
}

export interface Attachment extends AsyncIterable<AttachChunk> {
  /** Sends bytes to the process's stdin; resolves once handed to the socket. */
  write(data: string | Uint8Array): Promise<void>;
  /** Closes the process's stdin after what was written (the process sees EOF). */
  closeStdin(): Promise<void>;
  /** Detaches; the process and its log carry on. */
  close(): void;
  /** The exit, when the process exits while attached; undefined when detached first. */
  readonly exit: Promise<AttachExit | undefined>;
  /** What came before the first output frame (an attach with logs starts there). */
  readonly seam: AttachSeam;
}

/** Largest STDIN frame sent: the shim reads one frame at a time. */
const CHUNK = 64 * 1024;
/** Bytes held for a slow consumer before the socket is paused (resumed below a quarter). */
const HIGH_WATER = 512 * 1024;
/** Largest chunk made by merging queued ones. */
const MERGE_MAX = 1024 * 1024;

class AttachConnection implements Attachment {
  private readonly chunks: AttachChunk[] = [];
  private queued = 0;
  private waiting: ((r: IteratorResult<AttachChunk>) => void) | undefined;
  private ended = false;
  private settleExit!: (e: AttachExit | undefined) => void;
  readonly exit: Promise<AttachExit | undefined>;
  seam: AttachSeam = { log: undefined, pending: { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) } };

  constructor(private readonly sock: Socket) {
    this.exit = new Promise((resolve) => { this.settleExit = resolve; });
  }

  /** A frame after the OK: output or the exit. */
  onFrame(m: ShimMessage): void {
    if (m.type === ShimAttachFrame.STDOUT || m.type === ShimAttachFrame.STDERR) {
      const data = findRecord(m, 'DATA')?.data;
      // a view, not a copy: the frame's bytes are not reused (each socket read is a fresh buffer)
      if (data) this.push({ stream: m.type === ShimAttachFrame.STDOUT ? 'stdout' : 'stderr', data: Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength) });
    } else if (m.type === ShimReply.EXIT) {
      this.settleExit({ status: findRecord(m, 'EXIT_STATUS')?.code ?? 0, exitedAt: findRecord(m, 'EXIT_TIME')?.ns ?? 0n });
    }
  }

  private push(c: AttachChunk): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ value: c, done: false });
      return;
    }
    this.chunks.push(c);
    this.queued += c.data.length;
    if (this.queued >= HIGH_WATER) this.sock.pause();
  }

  /**
   * The next queued chunk, with the queued chunks of the same stream behind it merged in (up to
   * MERGE_MAX): one socket read brings many frames of a fast writer (a 4 KiB pipe write each), and
   * a consumer then pays its per-chunk work (a framed write to a client, a gRPC message) once.
   */
  private take(): AttachChunk | undefined {
    const first = this.chunks.shift();
    if (!first) return undefined;
    let size = first.data.length;
    let n = 0;
    while (n < this.chunks.length && this.chunks[n]!.stream === first.stream && size + this.chunks[n]!.data.length <= MERGE_MAX) size += this.chunks[n++]!.data.length;
    this.queued -= size;
    if (n === 0) return first;
    const parts = [first.data, ...this.chunks.splice(0, n).map((c) => c.data)];
    return { stream: first.stream, data: Buffer.concat(parts, size) };
  }

  onEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.settleExit(undefined);
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ value: undefined, done: true });
    }
  }

  private next(): Promise<IteratorResult<AttachChunk>> {
    const c = this.take();
    if (this.queued < HIGH_WATER / 4 && this.sock.isPaused()) this.sock.resume();
    if (c) return Promise.resolve({ value: c, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => { this.waiting = resolve; });
  }

  [Symbol.asyncIterator](): AsyncIterator<AttachChunk> {
    return {
      next: () => this.next(),
      return: () => { this.close(); return Promise.resolve({ value: undefined, done: true }); },
    };
  }

  private send(frame: Buffer): Promise<void> {
    if (this.ended) return Promise.reject(unavailable('cannot write to the process: the attach connection is closed'));
    return new Promise((resolve, reject) => {
      this.sock.write(frame, (err) => { if (err) reject(wrap('cannot write to the process', err)); else resolve(); });
    });
  }

  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    for (let off = 0; off < bytes.length; off += CHUNK) {
      await this.send(encodeShimMessage(ShimAttachFrame.STDIN, [{ type: 'DATA', value: { data: bytes.subarray(off, off + CHUNK) } }]));
    }
  }

  closeStdin(): Promise<void> {
    return this.send(encodeShimMessage(ShimAttachFrame.CLOSE_STDIN, []));
  }

  close(): void {
    this.sock.destroy();
    this.onEnd();
  }
}

/** The seam records of a LOG_POS-carrying reply (ATTACH's OK, STATE). */
export function logPositionOf(m: ShimMessage): LogPosition | undefined {
  const p = findRecord(m, 'LOG_POS');
  if (!p) return undefined;
  return { generation: p.generation, inode: p.inode, offset: Number(p.offset), maxFile: p.maxFile };
}

function seamOf(ok: ShimMessage): AttachSeam {
  return {
    log: logPositionOf(ok),
    pending: {
      stdout: Buffer.from(findRecord(ok, 'PENDING_STDOUT')?.data ?? Buffer.alloc(0)),
      stderr: Buffer.from(findRecord(ok, 'PENDING_STDERR')?.data ?? Buffer.alloc(0)),
    },
  };
}

function attachRequest(o: AttachOptions, handOver: boolean): Buffer {
  const records: ShimEntry[] = [{
    type: 'STREAMS',
    value: { stdin: o.stdin ? 1 : 0, stdout: o.stdout === false ? 0 : 1, stderr: o.stderr === false ? 0 : 1 },
  }];
  if (o.execId) records.push({ type: 'EXEC_ID', value: { id: o.execId } });
  if (handOver && o.output) records.push({ type: 'OUTPUT_FD', value: { framing: o.output.framing === 'raw' ? 2 : 1 } });
  return encodeShimMessage(ShimRequest.ATTACH, records);
}

/**
 * Sends the ATTACH request, with the output's descriptor when one is asked
 * for and still there: the addon's sendmsg on the socket's own descriptor,
 * before node has written anything on it, so the bytes stay in order.
 */
function sendAttach(sock: Socket, o: AttachOptions): void {
  const target = o.output?.fd();
  const own = socketFd(sock);
  if (target === undefined || own === undefined) { sock.write(attachRequest(o, false)); return; }
  native().sendFd(own, attachRequest(o, true), target);
}

/** Connects, sends ATTACH and resolves once the shim has said OK. */
export function openAttachment(socketPath: string, o: AttachOptions): Promise<Attachment> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const frames = new FrameReader();
    const conn = new AttachConnection(sock);
    let accepted = false;
    const fail = (e: Error): void => { if (!accepted) { accepted = true; reject(e); } sock.destroy(); conn.onEnd(); };
    sock.on('connect', () => { try { sendAttach(sock, o); } catch (e) { fail(wrap(`cannot attach: shim at ${socketPath}`, e)); } });
    sock.on('data', (chunk: Buffer) => {
      let msgs: ShimMessage[];
      try { msgs = frames.push(chunk).map((b) => decodeShimMessage(b)); } catch (e) { fail(e as Error); return; }
      for (const m of msgs) {
        if (accepted) { conn.onFrame(m); continue; }
        accepted = true;
        if (m.type === ShimReply.OK) { conn.seam = seamOf(m); resolve(conn); continue; }
        const message = findRecord(m, 'MESSAGE')?.message ?? 'shim refused to attach';
        reject(new BerthError(/no such exec/.test(message) ? 'not-found' : 'failed-precondition', message));
        sock.destroy();
        return;
      }
    });
    sock.on('error', (e) => fail(wrap(`cannot attach: shim at ${socketPath}`, e)));
    sock.on('close', () => fail(unavailable(`shim at ${socketPath} closed the connection without a reply`)));
  });
}
