/**
 * What COPY and ADD write into a step's container, as one tar extracted at
 * its root (the daemon's archive PUT path): the missing parent directories
 * first (0755, the step's owner, as dockerd creates them), then each
 * source at its destination: a directory's contents under the destination,
 * a file at it (or inside it when it is a directory), a local tar archive
 * unpacked into it for ADD. Owners are the --chown identity, else root;
 * modes and times as in the source.
 */
import { createReadStream, openSync, readSync, closeSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { encodeHeader, END, padding, type TarHeader } from '../archive/tar-writer.js';
import { entriesOf, type Source } from './sources.js';

export interface Owner { uid: number; gid: number }

export interface CopyPlan {
  /** absolute destination in the container, cleaned */
  dest: string;
  /** the destination is a directory (ends in "/", exists as one, or several sources) */
  destIsDir: boolean;
  /** container directories to create first, outermost first */
  missingDirs: string[];
  owner: Owner;
  /** ADD: unpack local tar archives */
  unpackArchives: boolean;
}

const rel = (abs: string): string => abs.replace(/^\/+/, '');

function header(name: string, st: Stats, owner: Owner, type: TarHeader['type'], extra: Partial<TarHeader> = {}): Buffer {
  return encodeHeader({ name, type, mode: st.mode & 0o7777, uid: owner.uid, gid: owner.gid, size: type === 'file' ? st.size : 0, mtime: Math.floor(st.mtimeMs / 1000), ...extra });
}

async function* fileBody(host: string, size: number): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const c of createReadStream(host)) { n += (c as Buffer).length; yield c as Buffer; }
  if (n !== size) throw new Error(`${host} changed size while it was copied`);
  yield padding(size);
}

/** The first bytes of a file say it is a tar (plain or gzip): ADD unpacks it. */
export async function archiveKind(host: string): Promise<'tar' | 'gzip' | undefined> {
  const fd = openSync(host, 'r');
  const head = Buffer.alloc(512);
  let n: number;
  try { n = readSync(fd, head, 0, 512, 0); } finally { closeSync(fd); }
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const inner = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const g = createReadStream(host).pipe(createGunzip());
      g.on('data', (c: Buffer) => { chunks.push(c); size += c.length; if (size >= 512) { g.destroy(); resolve(Buffer.concat(chunks)); } });
      g.on('error', () => resolve(Buffer.concat(chunks)));
      g.on('end', () => resolve(Buffer.concat(chunks)));
    });
    return inner.length >= 262 && inner.toString('latin1', 257, 262) === 'ustar' ? 'gzip' : undefined;
  }
  return n >= 262 && head.toString('latin1', 257, 262) === 'ustar' ? 'tar' : undefined;
}

/** A tar archive's entries re-rooted under dest (owners as in the archive). */
async function* unpacked(host: string, kind: 'tar' | 'gzip', dest: string): AsyncGenerator<Buffer> {
  const x = extract();
  const input = kind === 'gzip' ? createReadStream(host).pipe(createGunzip()) : createReadStream(host);
  input.on('error', (err: Error) => x.destroy(err));
  input.pipe(x);
  for await (const entry of x) {
    const e = entry as unknown as Readable & { header: Header };
    const h = e.header;
    const inner = posix.normalize(`/${h.name}`).replace(/^\/+/, '').replace(/\/+$/, '');
    const types: Record<string, TarHeader['type']> = { file: 'file', 'contiguous-file': 'file', directory: 'directory', symlink: 'symlink', link: 'link', fifo: 'fifo', 'character-device': 'char', 'block-device': 'block' };
    const type = types[h.type ?? 'file'];
    if (inner === '' || type === undefined) { e.resume(); continue; }
    const linkname = type === 'link' ? rel(posix.join(dest, posix.normalize(`/${h.linkname ?? ''}`))) : h.linkname ?? undefined;
    yield encodeHeader({
      name: rel(posix.join(dest, inner)), type, mode: (h.mode ?? 0o644) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, size: type === 'file' ? h.size ?? 0 : 0,
      mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0, linkname, devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0,
    });
    if (type === 'file') { for await (const c of e) yield c as Buffer; yield padding(h.size ?? 0); } else e.resume();
  }
}

/** One source's entries at its destination. */
async function* sourceEntries(s: Source, plan: CopyPlan): AsyncGenerator<Buffer> {
  const { owner } = plan;
  if (s.stat.isDirectory()) {
    // the destination directory itself, when it is new, takes the source's mode
    for (const e of entriesOf(s)) {
      const name = rel(posix.join(plan.dest, e.rel));
      if (e.stat.isDirectory()) yield header(name, e.stat, owner, 'directory');
      else if (e.stat.isSymbolicLink()) yield header(name, e.stat, owner, 'symlink', { linkname: readlinkSync(e.host) });
      else if (e.stat.isFile()) { yield header(name, e.stat, owner, 'file'); yield* fileBody(e.host, e.stat.size); }
    }
    return;
  }
  const host = posix.join(s.root, s.path);
  if (plan.unpackArchives) {
    const kind = await archiveKind(host);
    if (kind !== undefined) { yield* unpacked(host, kind, plan.dest); return; }
  }
  const target = plan.destIsDir ? posix.join(plan.dest, posix.basename(s.path)) : plan.dest;
  yield header(rel(target), s.stat, owner, 'file');
  yield* fileBody(host, s.stat.size);
}

/** The whole tar of a COPY or ADD. */
export async function* copyTar(sources: Source[], plan: CopyPlan): AsyncGenerator<Buffer> {
  for (const d of plan.missingDirs) {
    yield encodeHeader({ name: `${rel(d)}/`, type: 'directory', mode: 0o755, uid: plan.owner.uid, gid: plan.owner.gid, size: 0, mtime: Math.floor(Date.now() / 1000) });
  }
  for (const s of sources) yield* sourceEntries(s, plan);
  yield END;
}
