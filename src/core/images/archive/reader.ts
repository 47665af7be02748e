/**
 * Reading an image archive tar (plain or compressed) in one pass: every
 * regular file is either kept in memory (the few small metadata files) or
 * written to the content store while it streams, its digest computed (and
 * checked against its name for `blobs/sha256/<hex>`). Entries must stay
 * inside the archive; a symlink (Docker links a layer shared by two images)
 * is remembered and resolved against the files read.
 */
import { createHash, randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError, invalidArgument } from '../../../common/errors.js';
import type { ContentStore } from '../../content/types.js';
import { decompress } from '../../unpack/decompress.js';
import { readTar, type TarEntry } from '../../unpack/tar.js';
import { BLOBS_PREFIX, INDEX_JSON, MANIFEST_JSON, OCI_LAYOUT, REPOSITORIES } from './format.js';

/** Metadata files larger than this are refused (they are read whole). */
const METADATA_LIMIT = 16 << 20;
const METADATA = new Set([MANIFEST_JSON, REPOSITORIES, OCI_LAYOUT, INDEX_JSON]);
/** Per-layer files of the docker-archive form that nothing reads back. */
const IGNORED = /^[^/]+\/(VERSION|json)$/;

export interface ReadArchive {
  /** metadata files by path */
  metadata: Map<string, Buffer>;
  /** every other regular file: path → digest of its bytes (now in the content store) */
  files: Map<string, { digest: string; size: number }>;
  /** symlinks: path → target path (normalised, inside the archive) */
  links: Map<string, string>;
}

export interface ReadOptions {
  namespace: string;
  content: ContentStore;
  /** called with each digest before it is written, to hold it under a lease */
  hold(digest: string): void;
}

/** A path inside the archive, normalised; refuses absolute ones and `..`. */
export function archivePath(name: string, what = 'entry'): string {
  if (name.startsWith('/')) throw invalidArgument(`archive ${what} ${name}: absolute path`);
  if (name.split('/').includes('..')) throw invalidArgument(`archive ${what} ${name}: path leaves the archive (..)`);
  const norm = posix.normalize(name).replace(/\/+$/, '');
  return norm === '.' ? '' : norm;
}

async function readSmall(e: TarEntry, path: string): Promise<Buffer> {
  if (e.size > METADATA_LIMIT) throw invalidArgument(`archive file ${path} is ${e.size} bytes (limit ${METADATA_LIMIT})`);
  const chunks: Buffer[] = [];
  for await (const c of e.body) chunks.push(c);
  return Buffer.concat(chunks);
}

async function storeFile(o: ReadOptions, e: TarEntry, path: string): Promise<{ digest: string; size: number }> {
  const expected = path.startsWith(BLOBS_PREFIX) ? `sha256:${path.slice(BLOBS_PREFIX.length)}` : undefined;
  if (expected !== undefined && !/^sha256:[0-9a-f]{64}$/.test(expected)) throw invalidArgument(`archive file ${path}: not a sha256 blob name`);
  if (expected !== undefined) o.hold(expected);
  const ref = `load-${randomUUID()}`;
  let w;
  try {
    w = await o.content.writer(o.namespace, ref, { expected, total: e.size });
  } catch (err) {
    if (err instanceof BerthError && err.kind === 'already-exists' && expected !== undefined) {
      // held already: the bytes are read past (the store's copy is the verified one)
      for await (const _ of e.body) { /* skip */ }
      return { digest: expected, size: e.size };
    }
    throw err;
  }
  const hash = createHash('sha256');
  let digest = expected ?? '';
  try {
    for await (const c of e.body) { hash.update(c); await w.write(c); }
    digest = expected ?? `sha256:${hash.digest('hex')}`;
    if (expected === undefined) o.hold(digest);
    const info = await w.commit(e.size, digest);
    return { digest: info.digest, size: info.size };
  } catch (err) {
    if (err instanceof BerthError && err.kind === 'already-exists') return { digest, size: e.size };
    await w.close().catch(() => undefined);
    try { o.content.abort(o.namespace, ref); } catch { /* removed by the failed commit */ }
    if (err instanceof BerthError && err.kind === 'failed-precondition') throw invalidArgument(`archive file ${path}: ${err.message}`);
    throw err;
  }
}

/** Reads the whole archive; blobs go to the content store as they stream. */
export async function readArchive(input: Readable, o: ReadOptions): Promise<ReadArchive> {
  const out: ReadArchive = { metadata: new Map(), files: new Map(), links: new Map() };
  let any = false;
  try {
    for await (const e of readTar(decompress(input, ''))) {
      any = true;
      const path = archivePath(e.name);
      if (e.type === 'directory' || path === '') continue;
      if (e.type === 'symlink' || e.type === 'link') {
        const target = e.type === 'link' ? e.linkname : posix.join(posix.dirname(path), e.linkname);
        out.links.set(path, archivePath(target, `link ${path} →`));
        continue;
      }
      if (e.type !== 'file') throw invalidArgument(`archive entry ${path}: unexpected ${e.type}`);
      if (METADATA.has(path)) out.metadata.set(path, await readSmall(e, path));
      else if (IGNORED.test(path) || path === 'VERSION') for await (const _ of e.body) { /* skip */ }
      else out.files.set(path, await storeFile(o, e, path));
    }
  } catch (err) {
    input.destroy();
    if (err instanceof BerthError) throw err;
    throw invalidArgument(`cannot read the archive: ${(err as Error).message}`, err);
  }
  if (!any) throw invalidArgument('cannot read the archive: it is empty');
  return out;
}

/** The digest of the file at path, following the archive's symlinks. */
export function fileDigest(a: ReadArchive, path: string): { digest: string; size: number } {
  let p = archivePath(path);
  for (let i = 0; i < 16; i++) {
    const f = a.files.get(p);
    if (f) return f;
    const next = a.links.get(p);
    if (next === undefined) break;
    p = next;
  }
  throw invalidArgument(`archive file ${path} is missing`);
}
