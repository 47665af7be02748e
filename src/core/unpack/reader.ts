/**
 * Exact-size reads over a stream of chunks: what a tar reader needs (512-byte
 * headers, bodies of a known size) without copying whole bodies in memory;
 * and the opposite, small chunks gathered into large pieces (each step of a
 * layer's pipeline costs per chunk, not per byte).
 */
export class ChunkReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** bytes handed out so far */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Buffers at least n bytes; false when the stream ends first. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      if (this.ended) return false;
      const r = await this.source.next();
      if (r.done === true) { this.ended = true; return false; }
      const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  /** Takes up to n bytes from what is buffered (at least one chunk's worth when any). */
  private shift(n: number): Buffer {
    const first = this.chunks[0]!;
    const out = first.length <= n ? first : first.subarray(0, n);
    if (first.length <= n) this.chunks.shift(); else this.chunks[0] = first.subarray(n);
    this.buffered -= out.length;
    this.offset += out.length;
    return out;
  }

  /** Exactly n bytes; null at a clean end of stream (nothing left); throws when it ends part way. */
  async exactly(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.buffered === 0) return null;
      throw new Error(`unexpected end of data at offset ${this.offset + this.buffered}`);
    }
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) { const b = this.shift(left); parts.push(b); left -= b.length; }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }

  /** n bytes as a sequence of chunks (for a file's body); throws when the stream ends first. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill(1))) throw new Error(`unexpected end of data at offset ${this.offset}`);
      const b = this.shift(left);
      left -= b.length;
      yield b;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.take(n)) { /* discarded */ }
  }

  /** Reads to the end of the stream, discarding, and returns how many bytes that was. */
  async drain(): Promise<number> {
    let n = 0;
    while (await this.fill(1)) { const b = this.shift(this.buffered); n += b.length; }
    return n;
  }
}

/** The chunks of src joined into pieces of at least min bytes (the last may be shorter). */
export async function* coalesce(src: AsyncIterable<Buffer>, min: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of src) {
    parts.push(chunk);
    n += chunk.length;
    if (n >= min) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
}
