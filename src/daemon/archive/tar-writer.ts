/**
 * Tar headers as image layers need them: ustar, with a PAX record before an
 * entry whose path or link is too long (or not ASCII), whose size or owner
 * does not fit, or that carries extended attributes. PAX values are bytes,
 * not text, so a binary attribute (security.capability) passes unchanged.
 */
export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** seconds since the epoch */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
}

const FLAG: Record<TarType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6' };
export const BLOCK = 512;

/** Zeros that round size up to a whole block. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Two zero blocks: the archive's end. */
export const END = Buffer.alloc(2 * BLOCK);

const fitsOctal = (n: number, width: number): boolean => n >= 0 && n < 8 ** (width - 1);
const plain = (s: string, width: number): boolean => Buffer.byteLength(s) <= width && /^[\x20-\x7e]*$/.test(s);

function octal(h: Buffer, at: number, width: number, n: number): void {
  h.write(`${Math.floor(n).toString(8).padStart(width - 1, '0')}\0`, at, width, 'latin1');
}

function ustar(name: string, flag: string, hd: Omit<TarHeader, 'name' | 'type'>): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, hd.mode & 0o7777);
  octal(h, 108, 8, fitsOctal(hd.uid, 8) ? hd.uid : 0);
  octal(h, 116, 8, fitsOctal(hd.gid, 8) ? hd.gid : 0);
  octal(h, 124, 12, fitsOctal(hd.size, 12) ? hd.size : 0);
  octal(h, 136, 12, fitsOctal(hd.mtime, 12) ? Math.max(0, hd.mtime) : 0);
  h.write(flag, 156, 1, 'latin1');
  if (hd.linkname !== undefined) h.write(hd.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  octal(h, 329, 8, hd.devmajor ?? 0);
  octal(h, 337, 8, hd.devminor ?? 0);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/** One PAX record, "<len> <key>=<value>\n", its length counting itself. */
function record(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(` ${key}=`) + value.length + 1;
  let len = rest + 1;
  while (String(len).length + rest !== len) len = String(len).length + rest;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

/** The header blocks of one entry (a PAX header first when needed); its data follows, padded. */
export function encodeHeader(hd: TarHeader): Buffer {
  const pax: Buffer[] = [];
  if (!plain(hd.name, 100)) pax.push(record('path', Buffer.from(hd.name)));
  if (hd.linkname !== undefined && !plain(hd.linkname, 100)) pax.push(record('linkpath', Buffer.from(hd.linkname)));
  if (!fitsOctal(hd.size, 12)) pax.push(record('size', Buffer.from(String(hd.size))));
  if (!fitsOctal(hd.uid, 8)) pax.push(record('uid', Buffer.from(String(hd.uid))));
  if (!fitsOctal(hd.gid, 8)) pax.push(record('gid', Buffer.from(String(hd.gid))));
  for (const [k, v] of hd.xattrs ?? []) pax.push(record(`SCHILY.xattr.${k}`, v));
  const main = ustar(hd.name, FLAG[hd.type], hd);
  if (pax.length === 0) return main;
  const body = Buffer.concat(pax);
  const paxHead = ustar('././@PaxHeader', 'x', { mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: hd.mtime });
  return Buffer.concat([paxHead, body, padding(body.length), main]);
}
