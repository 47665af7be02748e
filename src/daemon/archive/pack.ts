/**
 * A container path as a tar (GET /containers/{id}/archive): the entry at
 * `host` named `name`, directories walked without following symlinks
 * (links are archived as links), files opened with O_NOFOLLOW.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { pack, type Header, type Pack } from 'tar-stream';

type Headers = Partial<Header> & { name: string };

function header(name: string, st: Stats): Headers | undefined {
  const base = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: new Date(st.mtimeMs) };
  if (st.isDirectory()) return { ...base, name: `${name}/`, type: 'directory' };
  if (st.isFile()) return { ...base, type: 'file', size: st.size };
  if (st.isSymbolicLink()) return { ...base, type: 'symlink' };
  if (st.isFIFO()) return { ...base, type: 'fifo' };
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    return { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: Math.floor(st.rdev / 256) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) };
  }
  return undefined; // sockets are not archived
}

function addFile(p: Pack, h: Headers, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let fd: number;
    try { fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW); } catch (err) { reject(err as Error); return; }
    const size = Math.min(h.size ?? 0, fstatSync(fd).size);
    const entry = p.entry({ ...h, size }, (err) => { closeSync(fd); if (err) reject(err); else resolve(); });
    const buf = Buffer.allocUnsafe(1 << 20);
    let left = size;
    const pump = (): void => {
      while (left > 0) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
        if (n === 0) break;
        left -= n;
        if (!entry.write(Buffer.from(buf.subarray(0, n)))) { entry.once('drain', pump); return; }
      }
      // a file that shrank meanwhile is padded so the header's size holds
      if (left > 0) { entry.write(Buffer.alloc(left)); left = 0; }
      entry.end(undefined);
    };
    pump();
  });
}

async function add(p: Pack, host: string, name: string): Promise<void> {
  const st = lstatSync(host);
  const h = header(name, st);
  if (!h) return;
  if (h.type === 'file') { await addFile(p, h, host); return; }
  if (h.type === 'symlink') h.linkname = readlinkSync(host);
  await new Promise<void>((resolve, reject) => { p.entry(h, (err) => (err ? reject(err) : resolve())); });
  if (h.type === 'directory') {
    for (const child of readdirSync(host).sort()) await add(p, posix.join(host, child), posix.join(name, child));
  }
}

/** The tar of `host` (named `name` in the archive), produced while it is read. */
export function packPath(host: string, name: string): Pack {
  const p = pack();
  add(p, host, name).then(() => p.finalize(), (err: unknown) => p.destroy(err as Error));
  return p;
}
