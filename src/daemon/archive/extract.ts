/**
 * A tar extracted into a container directory (PUT /containers/{id}/archive):
 * every entry's path resolved inside the container's root (a symlink in the
 * container or in the archive cannot lead a write out of it), files written
 * with O_NOFOLLOW, a directory never replaced by a non-directory when asked
 * (noOverwriteDirNonDir), owners from the archive with copyUIDGID, else
 * root — as dockerd does.
 */
import { chmodSync, closeSync, constants, linkSync, lchownSync, lstatSync, mkdirSync, openSync, rmSync, symlinkSync, lutimesSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { extract, type Header } from 'tar-stream';

type Headers = Partial<Header> & { name: string };
import type { Readable } from 'node:stream';
import { BerthError, invalidArgument } from '../../common/errors.js';
import { native } from '../../common/native.js';
import { resolveInRoot } from './resolve.js';

export interface ExtractOptions { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }

function lstatOrNull(p: string): ReturnType<typeof lstatSync> | undefined {
  try { return lstatSync(p); } catch { return undefined; }
}

/** Makes room for a new entry at `host`: an existing non-directory goes; a directory only when allowed. */
function clear(host: string, isDir: boolean, o: ExtractOptions, shown: string): void {
  const st = lstatOrNull(host);
  if (!st) return;
  if (st.isDirectory()) {
    if (isDir) return;
    if (o.noOverwriteDirNonDir) throw invalidArgument(`cannot overwrite directory "${shown}" with non-directory`);
    rmSync(host, { recursive: true, force: true });
    return;
  }
  if (isDir && o.noOverwriteDirNonDir) throw invalidArgument(`cannot overwrite non-directory "${shown}" with directory`);
  rmSync(host, { force: true });
}

function owner(h: Headers, o: ExtractOptions): { uid: number; gid: number } {
  return o.copyUIDGID ? { uid: h.uid ?? 0, gid: h.gid ?? 0 } : { uid: 0, gid: 0 };
}

async function writeFile(host: string, stream: Readable, mode: number): Promise<void> {
  const fd = openSync(host, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    for await (const c of stream) {
      const b = c as Buffer;
      for (let off = 0; off < b.length;) off += writeSync(fd, b, off);
    }
  } finally { closeSync(fd); }
}

async function one(root: string, dir: string, h: Headers, stream: Readable, o: ExtractOptions): Promise<void> {
  const rel = posix.normalize(h.name).replace(/^(\.\/|\/)+/, '').replace(/\/$/, '');
  if (rel === '' || rel === '.') { stream.resume(); return; }
  const shown = posix.join(dir, rel);
  // the parent followed through links (inside the root), the entry itself never
  const parent = resolveInRoot(root, posix.dirname(shown), true);
  // a parent the archive does not list is made, 0755 and root's, as dockerd makes it
  // (what is missing was appended as given: no link lies on that part of the path)
  if (!lstatOrNull(parent.host)) mkdirSync(parent.host, { recursive: true, mode: 0o755 });
  const host = posix.join(parent.host, posix.basename(shown));
  const mode = (h.mode ?? 0o644) & 0o7777;
  const { uid, gid } = owner(h, o);
  switch (h.type) {
    case 'directory':
      clear(host, true, o, shown);
      mkdirSync(host, { recursive: false, mode }); // EEXIST handled below
      break;
    case 'file': case 'contiguous-file':
      clear(host, false, o, shown);
      await writeFile(host, stream, mode);
      break;
    case 'symlink':
      clear(host, false, o, shown);
      symlinkSync(h.linkname ?? '', host);
      break;
    case 'link': {
      clear(host, false, o, shown);
      const target = resolveInRoot(root, posix.join(dir, posix.normalize(h.linkname ?? '').replace(/^\/+/, '')), false);
      linkSync(target.host, host);
      break;
    }
    case 'fifo': case 'character-device': case 'block-device': {
      clear(host, false, o, shown);
      const kind = h.type === 'fifo' ? constants.S_IFIFO : h.type === 'character-device' ? constants.S_IFCHR : constants.S_IFBLK;
      native().mknod(host, kind | mode, h.devmajor ?? 0, h.devminor ?? 0);
      break;
    }
    default:
      stream.resume(); // pax headers and the like carry nothing to write
      return;
  }
  stream.resume();
  lchownSync(host, uid, gid);
  if (h.type !== 'symlink') chmodSync(host, mode);
  if (h.mtime) lutimesSync(host, h.mtime, h.mtime);
}

/** Extracts `body` into the directory `dir` (a container path) of `root`. */
export async function extractInto(root: string, dir: string, body: AsyncIterable<Buffer>, o: ExtractOptions): Promise<void> {
  const x = extract();
  // an entry that fails ends the reading below, which destroys the extractor: the feeding must
  // stop then too, not wait for a drain that will never come
  const room = (): Promise<void> => new Promise<void>((r) => { x.once('drain', r); x.once('close', r); });
  const feeding = (async () => {
    for await (const c of body) {
      if (x.destroyed) return;
      if (!x.write(c)) await room();
    }
    if (!x.destroyed) x.end(undefined);
  })();
  feeding.catch((err: unknown) => x.destroy(err as Error));
  try {
    for await (const entry of x) {
      const e = entry as unknown as Readable & { header: Headers };
      try {
        await one(root, dir, e.header, e, o);
      } catch (err) {
        if (err instanceof BerthError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' && e.header.type === 'directory') continue;
        throw new BerthError('invalid-argument', `cannot extract ${e.header.name} into ${dir}: ${(err as Error).message}`);
      }
    }
  } finally {
    await feeding.catch(() => undefined);
  }
}
