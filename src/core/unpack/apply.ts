/**
 * Applies one image layer to a snapshot directory in a single pass over its
 * bytes: decompression (decompress.ts), the diff ID (sha256 of the
 * uncompressed tar) and extraction (tar.ts) are one pipeline, so a layer
 * streamed from a registry is never stored uncompressed.
 *
 * Every entry's path is checked before anything is written (paths.ts); a
 * refused entry fails the whole layer with `invalid-argument`, and the
 * caller discards the snapshot (part of the layer may have been written).
 * Whiteouts become overlay's own form in an overlay upper directory, or real
 * deletions in a full copy (the native snapshotter).
 */
import { createHash } from 'node:crypto';
import { chmodSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError, invalidArgument, wrap } from '../../common/errors.js';
import { native } from '../../common/native.js';
import { decompress } from './decompress.js';
import { EntryRefused, components, existingPath, kindAt, parentDir } from './paths.js';
import { readTar, type TarEntry } from './tar.js';
import { UnpackedSize } from './unpacked-size.js';

export interface ApplyOptions {
  mediaType: string;
  dir: string;
  whiteouts: 'overlay' | 'delete';
  /** character and block devices; Docker allows them in image layers, so the default is true */
  allowDevices?: boolean;
  /** the layer's digest, for messages */
  digest?: string;
  /** most uncompressed bytes a layer may have (a decompression bomb stops here); default: layerSizeLimit() */
  maxSize?: number;
}

/**
 * The default of ApplyOptions.maxSize: the core's `max-layer-size`, set once
 * from its config (config.ts) so every path that applies layers (pull, load,
 * import) has it without each passing it down.
 */
let defaultMaxSize = 64 * 2 ** 30;
export function setLayerSizeLimit(bytes: number): void { defaultMaxSize = bytes; }
export function layerSizeLimit(): number { return defaultMaxSize; }

export interface ApplyResult {
  /** "sha256:<hex>" of the uncompressed tar */
  diffId: string;
  /** bytes of the uncompressed tar */
  size: number;
  /** the bytes the layer adds as dockerd counts them (unpacked-size.ts): its files' contents and link targets */
  unpackedSize: number;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

interface ApplyState {
  opts: ApplyOptions;
  /** paths (relative, "/"-joined) this layer wrote: an opaque directory keeps them */
  written: Set<string>;
  /**
   * directory times, set last (writing a child changes its directory's
   * mtime); keyed by path so a layer naming one directory a million times
   * holds one record, not a million
   */
  dirTimes: Map<string, number>;
  /** the layer's unpacked size, counted entry by entry */
  unpacked: UnpackedSize;
}

/** Thrown when a layer's uncompressed bytes pass the limit: a decompression bomb, or a layer this core will not hold. */
export class LayerTooLarge extends Error {}

async function* hashed(src: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>, count: { n: number }, max: number): AsyncGenerator<Buffer> {
  for await (const chunk of src) {
    count.n += chunk.length;
    if (count.n > max) throw new LayerTooLarge(`uncompressed size passes the limit of ${max} bytes (max-layer-size)`);
    hash.update(chunk);
    yield chunk;
  }
}

export async function applyLayer(input: Readable, opts: ApplyOptions): Promise<ApplyResult> {
  const layer = opts.digest !== undefined && opts.digest !== '' ? `layer ${opts.digest}` : 'layer';
  const hash = createHash('sha256');
  const count = { n: 0 };
  const max = opts.maxSize ?? defaultMaxSize;
  const state: ApplyState = { opts, written: new Set(), dirTimes: new Map(), unpacked: new UnpackedSize() };
  let current = '';
  try {
    for await (const entry of readTar(hashed(decompress(input, opts.mediaType), hash, count, max))) {
      current = entry.name;
      // a size field past the limit is refused before a byte of its body is written
      if (entry.size > max) throw new LayerTooLarge(`entry ${entry.name} claims ${entry.size} bytes, past the limit of ${max} bytes (max-layer-size)`);
      await applyEntry(state, entry);
    }
    current = '';
    for (const [path, mtime] of [...state.dirTimes].reverse()) utimesSync(path, mtime, mtime);
  } catch (err) {
    input.destroy();
    if (err instanceof LayerTooLarge) throw invalidArgument(`${layer}: ${err.message}`);
    if (err instanceof EntryRefused) throw invalidArgument(`${layer} entry ${current}: ${err.message}`);
    if (err instanceof BerthError) throw err;
    if (typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).syscall !== undefined) {
      throw wrap(current === '' ? `cannot apply ${layer}` : `cannot apply ${layer} entry ${current}`, err);
    }
    // the bytes themselves are wrong: a bad tar header, gzip or zstd data
    throw invalidArgument(`cannot apply ${layer}: ${(err as Error).message}`, err);
  }
  return { diffId: `sha256:${hash.digest('hex')}`, size: count.n, unpackedSize: state.unpacked.total };
}

async function applyEntry(s: ApplyState, e: TarEntry): Promise<void> {
  const parts = components(e.name);
  const base = parts[parts.length - 1] ?? '';
  if (parts.length === 0) {
    // the layer's root: only its attributes can change
    if (e.type !== 'directory') throw new EntryRefused(`a ${e.type} cannot replace the layer root`);
    setAttributes(s, s.opts.dir, e);
    return;
  }
  const parent = parentDir(s.opts.dir, parts);
  s.unpacked.add(parts, e);
  if (base === OPAQUE) return opaque(s, parent, parts.slice(0, -1));
  if (base.startsWith(WHITEOUT)) return whiteout(s, parent, base.slice(WHITEOUT.length), parts);
  const path = join(parent, base);
  // a hard link's target is checked before anything at path is touched
  const linkTarget = e.type === 'link' ? existingPath(s.opts.dir, e.linkname) : '';
  markWritten(s, parts);
  const existing = kindAt(path);
  if (existing !== undefined && !(existing === 'dir' && e.type === 'directory')) rmSync(path, { recursive: true, force: true });
  switch (e.type) {
    case 'directory':
      if (existing !== 'dir') mkdirSync(path, { mode: 0o700 });
      break;
    case 'file':
      await writeFile(path, e);
      break;
    case 'symlink':
      symlinkSync(e.linkname, path);
      break;
    case 'link':
      linkSync(linkTarget, path);
      return; // the target's inode already has its attributes
    case 'char':
    case 'block':
      if (s.opts.allowDevices === false) throw new EntryRefused('device nodes are not allowed here');
      native().mknod(path, (e.type === 'char' ? S_IFCHR : S_IFBLK) | (e.mode & 0o7777), e.devmajor, e.devminor);
      break;
    case 'fifo':
      native().mknod(path, S_IFIFO | (e.mode & 0o7777), 0, 0);
      break;
    default:
      throw new EntryRefused(`unsupported tar entry type '${e.flag}'`);
  }
  setAttributes(s, path, e);
}

/**
 * A file's body goes behind the reader: up to FILE_WRITE_BEHIND bytes are
 * queued to the thread pool (one write after another, in order) while the
 * next pieces are decompressed and hashed, instead of the pipeline stopping
 * for every write. Nothing of a layer counts before its snapshot is
 * committed, and a failed write fails the layer.
 */
const FILE_WRITE_BEHIND = 8 << 20;

async function writeAll(fh: FileHandle, chunk: Buffer, pos: number): Promise<void> {
  let off = 0;
  while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off, pos + off)).bytesWritten;
}

async function writeFile(path: string, e: TarEntry): Promise<void> {
  // O_EXCL: the path was just cleared, and an O_EXCL create never follows a symlink
  const fh = await open(path, 'wx', 0o600);
  let last: Promise<void> = Promise.resolve();
  const queued: Promise<void>[] = [];
  let behind = 0;
  let pos = 0;
  try {
    for await (const chunk of e.body) {
      const at = pos;
      pos += chunk.length;
      behind += chunk.length;
      // a failed write rejects every write chained after it, so none of them runs
      const p = last.then(() => writeAll(fh, chunk, at)).finally(() => { behind -= chunk.length; queued.shift(); });
      p.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      last = p;
      queued.push(p);
      while (behind > FILE_WRITE_BEHIND && queued.length > 0) await queued[0];
    }
    await last;
  } finally {
    await last.catch(() => undefined);
    await fh.close();
  }
}

/** Ownership, then mode (chown clears setuid), then xattrs (chown clears security.capability), then times. */
function setAttributes(s: ApplyState, path: string, e: TarEntry): void {
  lchownSync(path, e.uid, e.gid);
  if (e.type !== 'symlink') chmodSync(path, e.mode & 0o7777);
  for (const [name, value] of e.xattrs) {
    // a layer must not speak overlay's own language (redirects, metacopy, opaque) except through whiteouts
    if (name.startsWith('trusted.overlay.')) continue;
    try { native().lsetxattr(path, name, value); } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // a namespace this file system does not keep (security.selinux without SELinux) is skipped, as Docker does
      if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    }
  }
  if (e.type === 'directory') { s.dirTimes.delete(path); s.dirTimes.set(path, e.mtime); }
  else if (e.type === 'symlink') lutimesSync(path, e.mtime, e.mtime);
  else utimesSync(path, e.mtime, e.mtime);
}

/** `.wh.<name>`: the name is deleted from the layers below. */
function whiteout(s: ApplyState, parent: string, name: string, parts: string[]): void {
  if (name === '' || name === '.' || name === '..') throw new EntryRefused('whiteout of an invalid name');
  const path = join(parent, name);
  rmSync(path, { recursive: true, force: true });
  if (s.opts.whiteouts === 'overlay') {
    native().mknod(path, S_IFCHR, 0, 0);
    markWritten(s, [...parts.slice(0, -1), name]);
  }
}

/** The entry and the directories on its way, which an opaque directory above them keeps. */
function markWritten(s: ApplyState, parts: string[]): void {
  for (let i = 1; i <= parts.length; i++) s.written.add(parts.slice(0, i).join('/'));
}

/** `.wh..wh..opq`: the directory hides everything below it but what this layer puts there. */
function opaque(s: ApplyState, dir: string, parts: string[]): void {
  if (s.opts.whiteouts === 'overlay') {
    native().lsetxattr(dir, 'trusted.overlay.opaque', Buffer.from('y'));
    return;
  }
  removeUnwritten(s, dir, parts.join('/'));
}

function removeUnwritten(s: ApplyState, dir: string, rel: string): void {
  for (const name of readdirSync(dir)) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const child = join(dir, name);
    if (!s.written.has(childRel)) rmSync(child, { recursive: true, force: true });
    else if (lstatSync(child).isDirectory()) removeUnwritten(s, child, childRel);
  }
}
