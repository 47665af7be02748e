/**
 * A container's changes as a layer tar (commit): the user's changes found
 * in its overlay upper directory (archive/changes.ts leaves out what the
 * runtime made for its mounts, dockerd's init layer), a deleted entry as an
 * OCI whiteout `.wh.<name>`, a directory that hides the one below as an
 * entry followed by `.wh..wh..opq`. Files are opened with O_NOFOLLOW and read
 * in chunks; a second name of a file already written is a hard link;
 * extended attributes go along but overlayfs's own.
 */
import { constants, lstatSync, readlinkSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { native } from '../../common/native.js';
import { layerChanges } from './changes.js';
import { encodeHeader, END, padding, type TarHeader } from './tar-writer.js';

const CHUNK = 1 << 20;

function xattrsOf(path: string): Map<string, Buffer> | undefined {
  const out = new Map<string, Buffer>();
  try {
    for (const name of native().llistxattr(path).sort()) {
      if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) continue;
      const v = native().lgetxattr(path, name);
      if (v !== null) out.set(name, v);
    }
  } catch { /* no attributes here */ }
  return out.size > 0 ? out : undefined;
}

function headerOf(name: string, st: Stats, host: string): TarHeader | undefined {
  const base = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: 0, mtime: Math.floor(st.mtimeMs / 1000), xattrs: xattrsOf(host) };
  if (st.isDirectory()) return { ...base, name: `${name}/`, type: 'directory' };
  if (st.isFile()) return { ...base, type: 'file', size: st.size };
  if (st.isSymbolicLink()) return { ...base, type: 'symlink', linkname: readlinkSync(host) };
  if (st.isFIFO()) return { ...base, type: 'fifo' };
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    return { ...base, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: Math.floor(st.rdev / 256) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) };
  }
  return undefined; // a socket is not archived
}

/** size bytes of the file (padded with zeros if it shrank meanwhile), then the block padding. */
async function* fileBody(host: string, size: number): AsyncGenerator<Buffer> {
  const fh = await open(host, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let left = size;
    while (left > 0) {
      const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(Math.min(CHUNK, left)), 0, Math.min(CHUNK, left), null);
      if (bytesRead === 0) break;
      left -= bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
    if (left > 0) yield Buffer.alloc(left);
  } finally {
    await fh.close();
  }
  yield padding(size);
}

/** The layer tar of the changes in upper (against lowers, top first). */
export async function* layerTar(upper: string, lowers: string[]): AsyncGenerator<Buffer> {
  const links = new Map<string, string>();
  for (const c of layerChanges(upper, lowers)) {
    const name = c.Path.slice(1);
    const host = posix.join(upper, c.Path);
    const st = lstatSync(host);
    if (c.whiteout) {
      yield encodeHeader({ name: posix.join(posix.dirname(name), `.wh.${posix.basename(name)}`), type: 'file', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: Math.floor(st.mtimeMs / 1000) });
      continue;
    }
    const h = headerOf(name, st, host);
    if (!h) continue;
    if (h.type === 'file' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) { yield encodeHeader({ ...h, type: 'link', size: 0, linkname: first }); continue; }
      links.set(key, name);
    }
    yield encodeHeader(h);
    if (h.type === 'file') yield* fileBody(host, h.size);
    if (c.opaque) yield encodeHeader({ name: `${name}/.wh..wh..opq`, type: 'file', mode: h.mode & 0o777, uid: 0, gid: 0, size: 0, mtime: 0 });
  }
  yield END;
}
