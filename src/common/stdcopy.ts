/**
 * Docker's stdcopy framing, one encoder and one decoder for berthd and the
 * CLI: without a TTY, attach, exec and logs streams carry stdin/stdout/stderr
 * multiplexed on one connection, each chunk behind an 8-byte header:
 * [stream, 0, 0, 0, length as big-endian uint32]. stream is 0 stdin,
 * 1 stdout, 2 stderr, 3 systemerr (a daemon error that ended the stream).
 */
import { invalidArgument } from './errors.js';

export type StdStream = 0 | 1 | 2 | 3;
export const STDIN: StdStream = 0;
export const STDOUT: StdStream = 1;
export const STDERR: StdStream = 2;
export const SYSTEMERR: StdStream = 3;

export const HEADER_SIZE = 8;
/** Chunks larger than this are split, so a reader never buffers more. */
const MAX_FRAME = 32 * 1024;

/** One or more frames carrying `payload` on `stream` (none for an empty payload). */
export function encodeFrames(stream: StdStream, payload: Buffer | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_FRAME) {
    const chunk = data.subarray(at, Math.min(at + MAX_FRAME, data.length));
    const header = Buffer.alloc(HEADER_SIZE);
    header[0] = stream;
    header.writeUInt32BE(chunk.length, 4);
    parts.push(header, chunk);
  }
  return Buffer.concat(parts);
}

export interface Frame { stream: StdStream; payload: Buffer }

/**
 * Incremental decoder: push bytes as they arrive, get back the complete
 * frames; a partial frame waits for the next push.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= HEADER_SIZE) {
      const stream = this.pending[0]!;
      // docker's client words this "unrecognized input header"; both are kept so either reader recognises it
      if (stream > 3) throw invalidArgument(`cannot decode stream: unknown stream id ${stream} in frame header (unrecognized input header: ${stream})`);
      const length = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER_SIZE + length) break;
      frames.push({ stream: stream as StdStream, payload: this.pending.subarray(HEADER_SIZE, HEADER_SIZE + length) });
      this.pending = this.pending.subarray(HEADER_SIZE + length);
    }
    return frames;
  }

  /** Bytes of an incomplete frame still waiting (non-zero at end of stream: truncated). */
  get buffered(): number { return this.pending.length; }
}

/** The decoder with a callback per frame, as a stream reader wants it. */
export class StdcopyDecoder {
  private readonly frames = new FrameDecoder();

  constructor(private readonly onFrame: (stream: StdStream, payload: Buffer) => void) {}

  /** Feeds one chunk; calls onFrame for every complete frame. */
  push(chunk: Buffer): void {
    for (const f of this.frames.push(chunk)) this.onFrame(f.stream, f.payload);
  }

  /** Bytes of an incomplete frame left at the end of the stream (0 when clean). */
  get leftover(): number { return this.frames.buffered; }
}

/** Decodes a whole multiplexed buffer; a truncated last frame is an error. */
export function decodeAll(data: Buffer): Frame[] {
  const d = new FrameDecoder();
  const frames = d.push(data);
  if (d.buffered !== 0) throw invalidArgument(`cannot decode stream: truncated frame (${d.buffered} bytes left)`);
  return frames;
}
