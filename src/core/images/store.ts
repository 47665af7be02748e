/**
 * The images table: ImageStore over SQLite. Listing is one prepared
 * statement (500 images well under 100 ms); filters on the name or the
 * target digest use the primary key or the `images_target` index.
 */
import { alreadyExists, invalidArgument, notFound } from '../../common/errors.js';
import { decodeLabels, encodeLabels } from '../metadata/labels.js';
import type { Db } from '../metadata/db.js';
import { imageMatches, indexedCondition, parseImageFilter } from './filters.js';
import type { ImageRecord, ImageStore } from './types.js';

interface Row {
  namespace: string; name: string; target_media_type: string; target_digest: string; target_size: number;
  labels: string; created_at: number; updated_at: number;
}

const COLUMNS = 'namespace, name, target_media_type, target_digest, target_size, labels, created_at, updated_at';

const toRecord = (r: Row): ImageRecord => ({
  namespace: r.namespace, name: r.name,
  target: { mediaType: r.target_media_type, digest: r.target_digest, size: r.target_size },
  labels: decodeLabels(r.labels), createdAt: r.created_at, updatedAt: r.updated_at,
});

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function checkRecord(r: Omit<ImageRecord, 'createdAt' | 'updatedAt'>): void {
  if (r.name === '') throw invalidArgument('cannot store image: empty name');
  if (!DIGEST.test(r.target.digest)) throw invalidArgument(`cannot store image ${r.name}: invalid target digest ${JSON.stringify(r.target.digest)}`);
  if (r.target.mediaType === '') throw invalidArgument(`cannot store image ${r.name}: target has no media type`);
}

export function openImageStore(db: Db): ImageStore {
  const selectOne = db.prepare(`SELECT ${COLUMNS} FROM images WHERE namespace = ? AND name = ?`);
  const selectNs = db.prepare(`SELECT ${COLUMNS} FROM images WHERE namespace = ? ORDER BY name`);
  const selectTarget = db.prepare(`SELECT ${COLUMNS} FROM images WHERE namespace = ? AND target_digest = ? ORDER BY name`);
  const insert = db.prepare(`INSERT INTO images (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const replace = db.prepare(`UPDATE images SET target_media_type = ?, target_digest = ?, target_size = ?, labels = ?, updated_at = ?
    WHERE namespace = ? AND name = ?`);
  const remove = db.prepare('DELETE FROM images WHERE namespace = ? AND name = ?');

  const find = (ns: string, name: string): ImageRecord | undefined => {
    const row = selectOne.get(ns, name) as Row | undefined;
    return row ? toRecord(row) : undefined;
  };
  const get = (ns: string, name: string): ImageRecord => {
    const r = find(ns, name);
    if (!r) throw notFound(`image ${name} not found in namespace ${ns}`);
    return r;
  };
  const write = (next: ImageRecord): void => {
    replace.run(next.target.mediaType, next.target.digest, next.target.size, encodeLabels(next.labels), next.updatedAt, next.namespace, next.name);
  };
  const byTarget = (ns: string, digest: string): ImageRecord[] => (selectTarget.all(ns, digest) as Row[]).map(toRecord);

  return {
    get,
    find,
    byTarget,
    list: (ns, filters = []) => {
      const parsed = filters.map(parseImageFilter);
      const indexed = indexedCondition(parsed);
      let rows: ImageRecord[];
      if (indexed?.field === 'name') { const one = find(ns, indexed.value); rows = one ? [one] : []; }
      else if (indexed?.field === 'target.digest') rows = byTarget(ns, indexed.value);
      else rows = (selectNs.all(ns) as Row[]).map(toRecord);
      return parsed.length === 0 ? rows : rows.filter((r) => imageMatches(r, parsed));
    },
    create: db.transaction((r: Omit<ImageRecord, 'createdAt' | 'updatedAt'>): ImageRecord => {
      checkRecord(r);
      if (find(r.namespace, r.name)) throw alreadyExists(`image ${r.name} already exists in namespace ${r.namespace}`);
      const now = Date.now();
      insert.run(r.namespace, r.name, r.target.mediaType, r.target.digest, r.target.size, encodeLabels(r.labels), now, now);
      return { ...r, target: { mediaType: r.target.mediaType, digest: r.target.digest, size: r.target.size }, createdAt: now, updatedAt: now };
    }),
    put: db.transaction((r: Omit<ImageRecord, 'createdAt' | 'updatedAt'>): ImageRecord => {
      checkRecord(r);
      const now = Date.now();
      const old = find(r.namespace, r.name);
      const target = { mediaType: r.target.mediaType, digest: r.target.digest, size: r.target.size };
      if (!old) {
        insert.run(r.namespace, r.name, target.mediaType, target.digest, target.size, encodeLabels(r.labels), now, now);
        return { ...r, target, createdAt: now, updatedAt: now };
      }
      const next = { ...old, target, labels: { ...r.labels }, updatedAt: now };
      write(next);
      return next;
    }),
    update: db.transaction((ns: string, name: string, values: Partial<Pick<ImageRecord, 'target' | 'labels'>>, fields: string[] = []): ImageRecord => {
      const old = get(ns, name);
      const next: ImageRecord = { ...old, labels: { ...old.labels }, updatedAt: Date.now() };
      const paths = fields.length === 0 ? ['target', 'labels'] : fields;
      for (const p of paths) {
        if (p === 'target' && values.target) next.target = { mediaType: values.target.mediaType, digest: values.target.digest, size: values.target.size };
        else if (p === 'labels') next.labels = { ...(values.labels ?? {}) };
        else if (p.startsWith('labels.')) {
          const key = p.slice('labels.'.length);
          const v = values.labels?.[key];
          if (v === undefined) delete next.labels[key]; else next.labels[key] = v;
        } else if (p !== 'target') throw invalidArgument(`cannot update image ${name}: unknown field ${JSON.stringify(p)} (use target, labels, labels.KEY)`);
      }
      checkRecord(next);
      write(next);
      return next;
    }),
    delete: db.transaction((ns: string, name: string): void => {
      get(ns, name);
      remove.run(ns, name);
    }),
  };
}
