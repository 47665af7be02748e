/**
 * A layer's bytes, uncompressed: gzip through node:zlib, zstd through fzstd
 * (a pure-JS decoder: it installs from the npm registry with nothing to build
 * or download, and Node 20's zlib has no zstd), plain tar as it is. The
 * magic bytes decide, since registries and `docker save` archives do not
 * always label a layer the way it is compressed; the media type is the
 * fallback for streams too short to tell.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { coalesce } from './reader.js';

export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

const startsWith = (b: Buffer, magic: number[]): boolean => b.length >= magic.length && magic.every((m, i) => b[i] === m);

export function compressionOf(mediaType: string, head: Buffer): Compression {
  if (startsWith(head, GZIP)) return 'gzip';
  if (startsWith(head, ZSTD)) return 'zstd';
  if (head.length >= ZSTD.length) return 'none';
  if (/gzip$/.test(mediaType)) return 'gzip';
  if (/zstd$/.test(mediaType)) return 'zstd';
  return 'none';
}

async function* prepend(head: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for (;;) {
    const r = await rest.next();
    if (r.done === true) return;
    yield r.value;
  }
}

/**
 * Every inflate call is a round trip to the thread pool, and every output
 * chunk a pass through each stage after it (diff ID hash, tar reader, file
 * write). zlib's default output chunk is 16 KiB and a registry's body comes
 * in 64 KiB socket reads; a profile of a 200 MB pull spent more time in those
 * round trips than in inflating. Input is gathered and output made in 1 MiB
 * pieces instead.
 */
const GUNZIP_CHUNK = 1 << 20;

async function* gunzip(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const z = createGunzip({ chunkSize: GUNZIP_CHUNK });
  const input = Readable.from(coalesce(src, GUNZIP_CHUNK));
  input.on('error', (err) => z.destroy(err));
  input.pipe(z);
  try {
    for await (const chunk of z) yield chunk as Buffer;
  } finally {
    input.destroy();
    z.destroy();
  }
}

async function* unzstd(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  const d = new Decompress((chunk) => { out.push(Buffer.from(chunk)); });
  for await (const chunk of src) {
    d.push(chunk);
    if (out.length > 0) { const ready = out; out = []; yield* ready; }
  }
  d.push(new Uint8Array(0), true);
  yield* out;
}

/** The uncompressed bytes of input, and (once known) the compression found. */
export async function* decompress(input: AsyncIterable<Buffer>, mediaType: string, found?: (c: Compression) => void): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < ZSTD.length) {
    const r = await it.next();
    if (r.done === true) break;
    head = Buffer.concat([head, Buffer.from(r.value)]);
  }
  const kind = compressionOf(mediaType, head);
  found?.(kind);
  const all = prepend(head, it);
  if (kind === 'gzip') yield* gunzip(all);
  else if (kind === 'zstd') yield* unzstd(all);
  else yield* all;
}
