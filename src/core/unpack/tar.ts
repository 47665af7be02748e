/**
 * A streaming tar reader (ustar, GNU long names, PAX) for image layers.
 *
 * Berth reads tar headers itself rather than through tar-stream or node-tar:
 * both decode PAX records as UTF-8 text, which corrupts binary values, and
 * image layers carry binary extended attributes there
 * (`SCHILY.xattr.security.capability`). The format is small: 512-byte
 * headers, bodies padded to 512 bytes, two zero blocks at the end (POSIX
 * pax, ustar; GNU 'L'/'K' long-name records).
 */
import { ChunkReader } from './reader.js';

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo' | 'other';

export interface TarEntry {
  name: string;
  type: EntryType;
  /** the raw type flag, for messages about unsupported ones */
  flag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** seconds since the epoch, fractional from PAX */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.<name> records, values as raw bytes */
  xattrs: Map<string, Buffer>;
  /** the entry's body; must be consumed (or left to the reader to skip) before the next entry */
  body: AsyncGenerator<Buffer>;
}

const BLOCK = 512;

const TYPES: Record<string, EntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo',
};

function cstring(b: Buffer, start: number, len: number): string {
  const end = b.indexOf(0, start);
  return b.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

/** An octal field, or GNU's base-256 form (high bit of the first byte set) for large values. */
function numeric(b: Buffer, start: number, len: number): number {
  if ((b[start]! & 0x80) !== 0) {
    let v = b[start]! & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = cstring(b, start, len).trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === numeric(h, 148, 8);
}

/** PAX records "<len> <key>=<value>\n", values kept as bytes. */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < buf.length) {
    const sp = buf.indexOf(0x20, at);
    if (sp === -1) break;
    const len = Number.parseInt(buf.toString('ascii', at, sp), 10);
    if (!(len > 0) || at + len > buf.length) throw new Error('malformed pax record');
    const rec = buf.subarray(sp + 1, at + len - 1); // without the newline
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.toString('utf8', 0, eq), rec.subarray(eq + 1));
    at += len;
  }
  return out;
}

const padding = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

interface Pending {
  pax: Map<string, Buffer>;
  global: Map<string, Buffer>;
  longName?: string;
  longLink?: string;
}

function headerEntry(h: Buffer, p: Pending): Omit<TarEntry, 'body'> {
  const flag = String.fromCharCode(h[156]!);
  const ustar = h.toString('ascii', 257, 262) === 'ustar';
  let name = cstring(h, 0, 100);
  const prefix = ustar ? cstring(h, 345, 155) : '';
  if (prefix !== '') name = `${prefix}/${name}`;
  const pax = new Map([...p.global, ...p.pax]);
  const text = (k: string): string | undefined => pax.get(k)?.toString('utf8');
  const num = (k: string, dflt: number): number => { const v = text(k); return v === undefined ? dflt : Number(v); };
  const xattrs = new Map<string, Buffer>();
  for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
  return {
    name: text('path') ?? p.longName ?? name,
    type: TYPES[flag] ?? 'other',
    flag,
    mode: numeric(h, 100, 8),
    uid: num('uid', numeric(h, 108, 8)),
    gid: num('gid', numeric(h, 116, 8)),
    size: num('size', numeric(h, 124, 12)),
    mtime: num('mtime', numeric(h, 136, 12)),
    linkname: text('linkpath') ?? p.longLink ?? cstring(h, 157, 100),
    devmajor: ustar ? numeric(h, 329, 8) : 0,
    devminor: ustar ? numeric(h, 337, 8) : 0,
    xattrs,
  };
}

/**
 * The entries of a tar stream, in order. After the end-of-archive blocks the
 * rest of the stream is read and discarded, so a digest computed upstream
 * covers every byte.
 */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const r = new ChunkReader(source[Symbol.asyncIterator]());
  const p: Pending = { pax: new Map(), global: new Map() };
  for (;;) {
    const h = await r.exactly(BLOCK);
    if (h === null) return; // no end blocks: accepted, as GNU tar does
    if (h.every((b) => b === 0)) { await r.drain(); return; }
    if (!checksumOk(h)) throw new Error(`invalid tar header checksum at offset ${r.offset - BLOCK}`);
    const flag = String.fromCharCode(h[156]!);
    const size = numeric(h, 124, 12);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > 16 * 1024 * 1024) throw new Error(`tar extended header of ${size} bytes is too large`);
      const data = (await r.exactly(size + padding(size)) ?? Buffer.alloc(0)).subarray(0, size);
      if (flag === 'x') p.pax = parsePax(data);
      else if (flag === 'g') p.global = parsePax(data);
      else if (flag === 'L') p.longName = cstring(data, 0, data.length);
      else p.longLink = cstring(data, 0, data.length);
      continue;
    }
    const head = headerEntry(h, p);
    p.pax = new Map();
    p.longName = undefined;
    p.longLink = undefined;
    // links, devices, fifos and directories carry no body whatever their size field says
    const bodySize = head.type === 'file' || head.type === 'other' ? head.size : 0;
    const end = r.offset + bodySize;
    yield { ...head, body: r.take(bodySize) };
    // what the consumer left of the body, then the padding
    await r.skip(end - r.offset + padding(bodySize));
  }
}
