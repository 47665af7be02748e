/**
 * The terminal side of attach and exec: a hijacked connection's output to
 * stdout/stderr (demultiplexed unless the container has a TTY), our stdin to
 * the connection (raw mode on a TTY), the terminal size to the daemon.
 */
import type { Duplex } from 'node:stream';
import { invalidArgument } from '../common/errors.js';
import { HEADER_SIZE } from '../common/stdcopy.js';
import { childProcess } from './builtins.js';
import { frontStreamer } from './front.js';
import { socketFd } from '../common/socket-fd.js';

export interface StreamOptions {
  tty: boolean;
  stdin: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/**
 * A stdcopy demultiplexer for the terminal side, without copies of the
 * payload: a received chunk is cut into the runs of bytes bound for one
 * output (frames of one stream in a row, whatever their size), and each
 * run goes out in one write. A header split across chunks is kept (8
 * bytes); a payload split across chunks is simply written in two parts.
 */
export class Demuxer {
  private readonly head = Buffer.alloc(HEADER_SIZE);
  private headLen = 0;
  private left = 0;
  private stream = 1;

  /** `write(2, …)` is stderr (stream 2, or 3: a daemon error); everything else is stdout. */
  constructor(private readonly write: (to: 1 | 2, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    let parts: Buffer[] = [];
    let to: 1 | 2 = 1;
    const flush = (): void => {
      if (parts.length > 0) this.write(to, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      parts = [];
    };
    let at = 0;
    while (at < chunk.length) {
      if (this.left === 0) {
        const n = Math.min(HEADER_SIZE - this.headLen, chunk.length - at);
        chunk.copy(this.head, this.headLen, at, at + n);
        this.headLen += n;
        at += n;
        if (this.headLen < HEADER_SIZE) break;
        this.headLen = 0;
        this.stream = this.head[0]!;
        if (this.stream > 3) { flush(); throw unknownStream(this.stream); }
        this.left = this.head.readUInt32BE(4);
        continue;
      }
      const n = Math.min(this.left, chunk.length - at);
      const next = this.stream === 2 || this.stream === 3 ? 2 : 1;
      if (next !== to) { flush(); to = next; }
      parts.push(chunk.subarray(at, at + n));
      at += n;
      this.left -= n;
    }
    flush();
  }

  /** Bytes of a frame still missing at the end of the stream (0 when clean). */
  get leftover(): number { return this.headLen + this.left; }
}

function unknownStream(id: number): Error {
  // docker's client words this "unrecognized input header"; both are kept so either reader recognises it
  return invalidArgument(`cannot decode stream: unknown stream id ${id} in frame header (unrecognized input header: ${id})`);
}

/**
 * Output only, to our own stdout/stderr, with nothing read yet: the C front
 * copies it (front.ts), and this process lets go of the connection.
 */
function handToFront(conn: Duplex, opts: StreamOptions): Promise<void> | undefined {
  const front = frontStreamer();
  const fd = socketFd(conn);
  if (!front || opts.stdin || opts.stdout || opts.stderr || fd === undefined || conn.readableLength > 0) return undefined;
  let copied: Promise<{ badStream?: number }>;
  try { copied = front.copy(fd, opts.tty ? 'raw' : 'stdcopy'); } catch { return undefined; }
  // sent synchronously: the front holds the connection now, and nothing more is read here
  conn.destroy();
  return copied.then((r) => { if (r.badStream !== undefined) throw unknownStream(r.badStream); });
}

/** Copies the connection to our stdout/stderr until it ends; sends stdin when asked. */
export function pump(conn: Duplex, opts: StreamOptions): Promise<void> {
  const handed = handToFront(conn, opts);
  if (handed) return handed;
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const decoder = new Demuxer((to, data) => { (to === 2 ? stderr : stdout).write(data); });
  let restore = (): void => {};
  if (opts.stdin) {
    if (opts.tty && process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      // libuv's raw mode keeps output post-processing (ONLCR): the container's pty already
      // sends \r\n, so turn it off as docker's raw mode does (restored with the mode)
      childProcess().spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
      restore = (): void => { process.stdin.setRawMode(false); };
    }
    process.stdin.on('data', (d: Buffer) => { conn.write(d); });
    // stdin's end closes our half only: output keeps coming until the container is done
    process.stdin.on('end', () => { (conn as Duplex & { end(): void }).end(); });
    process.stdin.resume();
  }
  return new Promise((resolve, reject) => {
    conn.on('data', (d: Buffer) => { if (opts.tty) stdout.write(d); else decoder.push(d); });
    const done = (): void => {
      restore();
      if (opts.stdin) process.stdin.pause();
      resolve();
    };
    conn.on('end', done);
    conn.on('close', done);
    conn.on('error', (e) => { restore(); reject(e); });
  });
}

/** The terminal's size for the resize endpoints, when stdout is a TTY. */
export function terminalSize(): { h: number; w: number } | undefined {
  return process.stdout.isTTY ? { h: process.stdout.rows, w: process.stdout.columns } : undefined;
}
