/**
 * The content store: blobs once on disk under `<root>/content/blobs/sha256/`,
 * their presence and labels per namespace in table `content`, ingests in
 * progress in `<root>/content/ingest/` and table `ingests`.
 *
 * Durability order on commit: data fsynced, renamed into place, the blob
 * directory fsynced, then the row committed — a crash leaves at worst a blob
 * without a row, which the next open removes. The steps that touch both the
 * blob files and the rows run synchronously, so within the core no other
 * call sees a row without its file.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { alreadyExists, BerthError, failedPrecondition, invalidArgument, notFound, unavailable, wrap } from '../../common/errors.js';
import type { Db } from '../metadata/db.js';
import { decodeLabels, encodeLabels } from '../metadata/labels.js';
import { checkDigest, digestOf, isDigest } from './digest.js';
import { fieldReader, matchesAny, parseFilters } from './filters.js';
import { openIngestWriter, type IngestSite } from './ingest.js';
import { checkLabels, updatedLabels } from './labels.js';
import { contentPaths, fsyncDir, ingestId, type ContentPaths } from './paths.js';
import type { ContentInfo, ContentStore, ContentWriter, IngestStatus, WriterOptions } from './types.js';

interface ContentRow { digest: string; size: number; labels: string; created_at: number; updated_at: number }
interface IngestRow { ref: string; expected: string; total: number; started_at: number; updated_at: number }

/** Ingest directories with an open writer, shared by every store of this process. */
const locked = new Set<string>();

const FILTER_FIELDS = ['digest', 'size'] as const;

function toInfo(r: ContentRow): ContentInfo {
  return { digest: r.digest, size: r.size, labels: decodeLabels(r.labels), createdAt: r.created_at, updatedAt: r.updated_at };
}

function checkRef(ref: string): string {
  if (ref === '' || ref.length > 1024 || ref.includes('\0')) {
    throw invalidArgument(`invalid ingest ref ${JSON.stringify(ref.slice(0, 64))}: use 1-1024 characters without NUL`);
  }
  return ref;
}

function checkTotal(total: number | undefined, ref: string): number {
  const t = total ?? 0;
  if (!Number.isSafeInteger(t) || t < 0) throw invalidArgument(`invalid size ${t} for ref ${ref}: not a byte count`);
  return t;
}

function statements(db: Db) {
  return {
    getContent: db.prepare('SELECT digest, size, labels, created_at, updated_at FROM content WHERE namespace = ? AND digest = ?'),
    listContent: db.prepare('SELECT digest, size, labels, created_at, updated_at FROM content WHERE namespace = ? ORDER BY digest'),
    insertContent: db.prepare('INSERT INTO content (namespace, digest, size, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)'),
    setContentLabels: db.prepare('UPDATE content SET labels = ?, updated_at = ? WHERE namespace = ? AND digest = ?'),
    deleteContent: db.prepare('DELETE FROM content WHERE namespace = ? AND digest = ?'),
    holders: db.prepare('SELECT COUNT(*) AS n FROM content WHERE digest = ?'),
    allDigests: db.prepare('SELECT DISTINCT digest FROM content'),
    getIngest: db.prepare('SELECT ref, expected, total, started_at, updated_at FROM ingests WHERE namespace = ? AND ref = ?'),
    listIngests: db.prepare('SELECT ref, expected, total, started_at, updated_at FROM ingests WHERE namespace = ? ORDER BY ref'),
    allIngests: db.prepare('SELECT namespace, ref FROM ingests'),
    insertIngest: db.prepare('INSERT INTO ingests (namespace, ref, expected, total, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)'),
    updateIngest: db.prepare('UPDATE ingests SET expected = ?, total = ?, updated_at = ? WHERE namespace = ? AND ref = ?'),
    touchIngest: db.prepare('UPDATE ingests SET updated_at = ? WHERE namespace = ? AND ref = ?'),
    deleteIngest: db.prepare('DELETE FROM ingests WHERE namespace = ? AND ref = ?'),
  };
}
type Statements = ReturnType<typeof statements>;

/**
 * Leftovers of a crash: ingest directories without a row, blobs without a
 * row in any namespace. Directories with a writer open in this process stay.
 */
function recover(st: Statements, paths: ContentPaths): void {
  const ingests = new Set((st.allIngests.all() as { namespace: string; ref: string }[]).map((r) => ingestId(r.namespace, r.ref)));
  for (const name of readdirSync(paths.ingests)) {
    const dir = join(paths.ingests, name);
    if (!ingests.has(name) && !locked.has(dir)) rmSync(dir, { recursive: true, force: true });
  }
  const held = new Set((st.allDigests.all() as { digest: string }[]).map((r) => r.digest));
  for (const hex of readdirSync(paths.blobs)) {
    const digest = `sha256:${hex}`;
    if (isDigest(digest) && !held.has(digest)) rmSync(join(paths.blobs, hex), { force: true });
  }
}

export function openContentStore(db: Db, root: string): ContentStore {
  const paths = contentPaths(root);
  const st = statements(db);
  try {
    mkdirSync(paths.blobs, { recursive: true, mode: 0o700 });
    mkdirSync(paths.ingests, { recursive: true, mode: 0o700 });
    recover(st, paths);
  } catch (err) {
    throw wrap(`cannot open content store in ${root}`, err);
  }

  const row = (namespace: string, digest: string): ContentRow | undefined =>
    st.getContent.get(namespace, checkDigest(digest)) as ContentRow | undefined;

  const info = (namespace: string, digest: string): ContentInfo => {
    const r = row(namespace, digest);
    if (!r) throw notFound(`content ${digest} not found in namespace ${namespace}`);
    return toInfo(r);
  };

  const removeIngest = (namespace: string, ref: string): void => {
    rmSync(paths.ingestDir(namespace, ref), { recursive: true, force: true });
    st.deleteIngest.run(namespace, ref);
  };

  /** The verified file becomes the blob (unless one is already there) and the namespace's row. */
  const place = (namespace: string, ref: string, dataPath: string, digest: string, size: number, labels: Record<string, string>): ContentInfo => {
    if (row(namespace, digest)) {
      removeIngest(namespace, ref);
      throw alreadyExists(`content ${digest} already exists in namespace ${namespace}`);
    }
    const blob = paths.blob(digest);
    const existing = existsSync(blob) ? statSync(blob) : undefined;
    try {
      // another namespace's copy is the same bytes: keep one
      if (existing?.size !== size) {
        renameSync(dataPath, blob);
        fsyncDir(paths.blobs);
      }
    } catch (err) {
      throw wrap(`cannot commit ref ${ref}`, err);
    }
    const now = Date.now();
    db.transaction(() => {
      st.deleteIngest.run(namespace, ref);
      st.insertContent.run(namespace, digest, size, encodeLabels(labels), now, now);
    })();
    rmSync(paths.ingestDir(namespace, ref), { recursive: true, force: true });
    return { digest, size, labels: { ...labels }, createdAt: now, updatedAt: now };
  };

  /** Starts the ingest's row (or checks the resumed one agrees) and returns its site. */
  const site = (namespace: string, ref: string, dir: string, expected: string, total: number): IngestSite => {
    const old = st.getIngest.get(namespace, ref) as IngestRow | undefined;
    const now = Date.now();
    if (old) {
      if (expected !== '' && old.expected !== '' && expected !== old.expected) {
        throw failedPrecondition(`cannot resume ref ${ref}: it was started for ${old.expected}, not ${expected}`);
      }
      if (total !== 0 && old.total !== 0 && total !== old.total) {
        throw failedPrecondition(`cannot resume ref ${ref}: it was started for ${old.total} bytes, not ${total}`);
      }
      expected ||= old.expected;
      total ||= old.total;
      st.updateIngest.run(expected, total, now, namespace, ref);
    } else {
      // a directory without a row is a crash's leftover: start afresh
      rmSync(dir, { recursive: true, force: true });
      st.insertIngest.run(namespace, ref, expected, total, now, now);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return {
      ref, expected, total,
      dataPath: join(dir, 'data'),
      place: (digest, size, labels) => place(namespace, ref, join(dir, 'data'), digest, size, labels),
      discard: () => removeIngest(namespace, ref),
      touch: () => { st.touchIngest.run(Date.now(), namespace, ref); },
      release: () => { locked.delete(dir); },
    };
  };

  const writer = async (namespace: string, ref: string, options: WriterOptions = {}): Promise<ContentWriter> => {
    checkRef(ref);
    const expected = options.expected ? checkDigest(options.expected) : '';
    const total = checkTotal(options.total, ref);
    if (expected !== '' && row(namespace, expected)) {
      throw alreadyExists(`content ${expected} already exists in namespace ${namespace}`);
    }
    const dir = paths.ingestDir(namespace, ref);
    if (locked.has(dir)) throw unavailable(`cannot open ref ${ref}: ref ${ref} locked by another writer`);
    locked.add(dir);
    let s: IngestSite;
    try {
      s = site(namespace, ref, dir, expected, total);
    } catch (err) {
      locked.delete(dir);
      throw err instanceof BerthError ? err : wrap(`cannot open ref ${ref}`, err);
    }
    return openIngestWriter(s);
  };

  const status = (namespace: string, r: IngestRow): IngestStatus => {
    let offset = 0;
    let updatedAt = r.updated_at;
    try {
      const s = statSync(join(paths.ingestDir(namespace, r.ref), 'data'));
      offset = s.size;
      updatedAt = Math.max(updatedAt, Math.floor(s.mtimeMs));
    } catch { /* not written yet */ }
    return { ref: r.ref, offset, total: r.total, expected: r.expected, startedAt: r.started_at, updatedAt };
  };

  const store: ContentStore = {
    info,
    has: (namespace, digest) => row(namespace, digest) !== undefined,

    list: (namespace, filters) => {
      const parsed = parseFilters(filters, FILTER_FIELDS, 'content');
      return (st.listContent.all(namespace) as ContentRow[]).map(toInfo)
        .filter((c) => matchesAny(fieldReader({ digest: c.digest, size: String(c.size) }, c.labels), parsed));
    },

    update: (namespace, digest, labels, fields) => db.transaction((): ContentInfo => {
      const cur = info(namespace, digest);
      const next = updatedLabels(cur.labels, labels, fields, `content ${digest}`);
      const now = Date.now();
      st.setContentLabels.run(encodeLabels(next), now, namespace, digest);
      return { ...cur, labels: next, updatedAt: now };
    })(),

    delete: (namespace, digest) => {
      const freed = db.transaction((): boolean => {
        info(namespace, digest);
        st.deleteContent.run(namespace, digest);
        return (st.holders.get(digest) as { n: number }).n === 0;
      })();
      // the row goes first: a crash between the two leaves an orphan blob, removed at the next open
      if (freed) {
        try { unlinkSync(paths.blob(digest)); } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(`cannot delete content ${digest}`, err);
        }
      }
    },

    reader: (namespace, digest, offset = 0) => {
      const { size } = info(namespace, digest);
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
        throw invalidArgument(`cannot read content ${digest} from offset ${offset}: the blob has ${size} bytes`);
      }
      let fd: number;
      try { fd = openSync(paths.blob(digest), 'r'); } catch (err) { throw wrap(`cannot read content ${digest}`, err); }
      return createReadStream(paths.blob(digest), { fd, start: offset }) as Readable;
    },

    readBlob: async (namespace, digest) => {
      info(namespace, digest);
      let data: Buffer;
      try { data = await readFile(paths.blob(digest)); } catch (err) { throw wrap(`cannot read content ${digest}`, err); }
      const actual = digestOf(data);
      if (actual !== digest) throw new BerthError('internal', `cannot read content ${digest}: the file on disk has digest ${actual}`);
      return data;
    },

    writer,

    writeBlob: async (namespace, data, expected, labels = {}) => {
      const digest = digestOf(data);
      if (expected !== undefined && checkDigest(expected) !== digest) {
        throw failedPrecondition(`cannot write blob: digest mismatch: expected ${expected}, got ${digest}`);
      }
      checkLabels(labels, `content ${digest}`);
      const held = (): ContentInfo => {
        const keys = Object.keys(labels);
        return keys.length === 0 ? info(namespace, digest) : store.update(namespace, digest, labels, keys.map((k) => `labels.${k}`));
      };
      if (row(namespace, digest)) return held();
      const w = await writer(namespace, `write-blob-${randomUUID()}`, { expected: digest, total: data.length });
      try {
        await w.write(data);
        return await w.commit(data.length, digest, labels);
      } catch (err) {
        // a concurrent writeBlob of the same bytes won: the caller gets the same outcome
        if (err instanceof BerthError && err.kind === 'already-exists') return held();
        try { store.abort(namespace, w.ref); } catch { /* already gone */ }
        throw err;
      }
    },

    status: (namespace, ref) => {
      const r = st.getIngest.get(namespace, ref) as IngestRow | undefined;
      if (!r) throw notFound(`ingest ${ref} not found in namespace ${namespace}`);
      return status(namespace, r);
    },

    listStatuses: (namespace) => (st.listIngests.all(namespace) as IngestRow[]).map((r) => status(namespace, r)),

    abort: (namespace, ref) => {
      if (!st.getIngest.get(namespace, ref)) throw notFound(`ingest ${ref} not found in namespace ${namespace}`);
      if (locked.has(paths.ingestDir(namespace, ref))) throw unavailable(`cannot abort ref ${ref}: ref ${ref} locked by a writer`);
      removeIngest(namespace, ref);
    },
  };
  return store;
}
