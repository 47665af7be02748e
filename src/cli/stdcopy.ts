/**
 * Decoder of Docker's stdcopy multiplexing (attach, logs and exec without a
 * TTY): frames of an 8-byte header — stream (0 stdin, 1 stdout, 2 stderr,
 * 3 system error), three zero bytes, a big-endian uint32 length — then the
 * payload. Chunks may split a frame anywhere; the decoder keeps the rest.
 */
export type StdStream = 0 | 1 | 2 | 3;

export class StdcopyDecoder {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: StdStream, payload: Buffer) => void) {}

  /** Feeds one chunk; calls onFrame for every complete frame. */
  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 8) {
      const stream = this.pending[0]!;
      if (stream > 3) throw new Error(`unrecognized input header: ${stream}`);
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      this.onFrame(stream as StdStream, this.pending.subarray(8, 8 + size));
      this.pending = this.pending.subarray(8 + size);
    }
  }

  /** Bytes of an incomplete frame left at the end of the stream (0 when clean). */
  get leftover(): number { return this.pending.length; }
}
