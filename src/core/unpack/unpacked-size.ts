/**
 * A layer's unpacked size as dockerd 20.10 shows it (`docker images` SIZE,
 * inspect's Size, `docker history`, `system df`). dockerd's overlay2 layer
 * store measures the layer's own directory once the tar is applied: the
 * apparent size (st_size) of every inode that is not a directory, each
 * inode once. So a regular file counts its bytes, a symbolic link the
 * length of its target, a hard link nothing more, and directories, device
 * nodes, fifos and whiteouts (character devices 0/0 there) count nothing.
 * Checked against a private dockerd: a layer of a 100-byte file, a hard
 * link to it, a link to "1234567", a 5000-byte file, an empty file, a
 * device, a fifo and a 3-byte `.wh.` file is 5107 bytes there.
 *
 * This counts the same from the tar's entries, so a layer is measured in
 * the pass that applies it, whatever the snapshotter (a full-copy
 * snapshotter's directory holds the layers below too), and an old layer can
 * be measured again from its blob without unpacking it.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { decompress } from './decompress.js';
import { components } from './paths.js';
import { readTar, type TarEntry } from './tar.js';

const WHITEOUT = '.wh.';

/** The bytes one entry leaves in the layer's directory by dockerd's count. */
export function entryBytes(e: Pick<TarEntry, 'type' | 'size' | 'linkname'>, base: string): number {
  if (base.startsWith(WHITEOUT)) return 0;
  if (e.type === 'file') return e.size;
  if (e.type === 'symlink') return Buffer.byteLength(e.linkname);
  return 0;
}

/**
 * The running total over a layer's entries. A path named twice in one tar
 * (dockerd refuses such a layer; Berth applies it, the last entry winning)
 * counts once, as the last entry left it; a whiteout of a path this layer
 * wrote takes it back out.
 */
export class UnpackedSize {
  private readonly sized = new Map<string, number>();
  private sum = 0;

  /** parts: the entry's path components (paths.ts components()) */
  add(parts: string[], e: Pick<TarEntry, 'type' | 'size' | 'linkname'>): void {
    const base = parts[parts.length - 1] ?? '';
    if (base.startsWith(WHITEOUT)) {
      this.drop([...parts.slice(0, -1), base.slice(WHITEOUT.length)].join('/'));
      return;
    }
    const path = parts.join('/');
    this.drop(path);
    const n = entryBytes(e, base);
    if (n > 0) { this.sized.set(path, n); this.sum += n; }
  }

  private drop(path: string): void {
    const before = this.sized.get(path);
    if (before !== undefined) { this.sum -= before; this.sized.delete(path); }
  }

  get total(): number { return this.sum; }
}

/**
 * The unpacked size of a stored layer, read from its bytes (plain, gzip or
 * zstd) without writing anything: for layers unpacked before the size was
 * recorded. Bodies are skipped by the tar reader, not kept; the diff ID is
 * computed on the way so the caller can check the bytes are the layer it
 * meant before recording the size under that ID.
 */
export async function measureLayer(input: Readable, mediaType: string): Promise<{ diffId: string; unpackedSize: number }> {
  const size = new UnpackedSize();
  const hash = createHash('sha256');
  async function* hashed(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of src) { hash.update(chunk); yield chunk; }
  }
  try {
    for await (const entry of readTar(hashed(decompress(input, mediaType)))) {
      let parts: string[];
      try { parts = components(entry.name); } catch { continue; } // refused at apply: it was never in the layer
      size.add(parts, entry);
    }
  } finally {
    input.destroy();
  }
  return { diffId: `sha256:${hash.digest('hex')}`, unpackedSize: size.total };
}
