/** The containers table: ContainerStore over SQLite, every write one transaction. */
import { alreadyExists, notFound } from '../../common/errors.js';
import type { ContainerChange, ContainerRecord, ContainerStore } from '../containers/store.js';
import type { Db } from './db.js';
import { decodeLabels, encodeLabels } from './labels.js';

interface Row {
  namespace: string; id: string; image: string; spec: Buffer; runtime_name: string; runtime_options: Buffer;
  rootfs: string; snapshot_key: string; snapshotter: string; labels: string; created_at: number; updated_at: number;
}

const COLUMNS = 'namespace, id, image, spec, runtime_name, runtime_options, rootfs, snapshot_key, snapshotter, labels, created_at, updated_at';

const toRecord = (r: Row): ContainerRecord => ({
  namespace: r.namespace, id: r.id, image: r.image, spec: Buffer.from(r.spec),
  runtime: { name: r.runtime_name, options: Buffer.from(r.runtime_options) },
  rootfs: r.rootfs, snapshotKey: r.snapshot_key, snapshotter: r.snapshotter, labels: decodeLabels(r.labels),
  createdAt: r.created_at, updatedAt: r.updated_at,
});

function applyChange(c: ContainerRecord, change: ContainerChange): ContainerRecord {
  const next: ContainerRecord = { ...c, labels: { ...c.labels }, runtime: { ...c.runtime } };
  const v = change.values;
  for (const f of change.fields) {
    if (f === 'labels') next.labels = { ...(v.labels ?? {}) };
    else if (f === 'spec') next.spec = v.spec ?? Buffer.alloc(0);
    else if (f === 'runtime') next.runtime = v.runtime ?? next.runtime;
    else if (f === 'snapshotKey') next.snapshotKey = v.snapshotKey ?? '';
    else if (f === 'snapshotter') next.snapshotter = v.snapshotter ?? '';
    else if (f === 'image') next.image = v.image ?? '';
    else if (f === 'rootfs') next.rootfs = v.rootfs ?? '';
  }
  for (const [k, val] of Object.entries(change.labels)) {
    if (val === null) delete next.labels[k];
    else next.labels[k] = val;
  }
  return next;
}

export function containerStore(db: Db): ContainerStore {
  const selectOne = db.prepare(`SELECT ${COLUMNS} FROM containers WHERE namespace = ? AND id = ?`);
  const selectNs = db.prepare(`SELECT ${COLUMNS} FROM containers WHERE namespace = ? ORDER BY id`);
  const count = db.prepare('SELECT COUNT(*) AS n FROM containers WHERE namespace = ?');
  const insert = db.prepare(`INSERT INTO containers (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const replace = db.prepare(`UPDATE containers SET image = ?, spec = ?, runtime_name = ?, runtime_options = ?,
    rootfs = ?, snapshot_key = ?, snapshotter = ?, labels = ?, updated_at = ? WHERE namespace = ? AND id = ?`);
  const remove = db.prepare('DELETE FROM containers WHERE namespace = ? AND id = ?');

  const find = (ns: string, id: string): ContainerRecord | undefined => {
    const row = selectOne.get(ns, id) as Row | undefined;
    return row ? toRecord(row) : undefined;
  };
  const get = (ns: string, id: string): ContainerRecord => {
    const found = find(ns, id);
    if (!found) throw notFound(`container ${id} not found in namespace ${ns}`);
    return found;
  };

  return {
    get,
    list: (ns) => (selectNs.all(ns) as Row[]).map(toRecord),
    count: (ns) => (count.get(ns) as { n: number }).n,
    create: db.transaction((r: Omit<ContainerRecord, 'createdAt' | 'updatedAt'>): ContainerRecord => {
      if (find(r.namespace, r.id)) throw alreadyExists(`container ${r.id} already exists in namespace ${r.namespace}`);
      const now = Date.now();
      insert.run(r.namespace, r.id, r.image, r.spec, r.runtime.name, r.runtime.options, r.rootfs, r.snapshotKey,
        r.snapshotter, encodeLabels(r.labels), now, now);
      return { ...r, createdAt: now, updatedAt: now };
    }),
    update: db.transaction((ns: string, id: string, change: ContainerChange): ContainerRecord => {
      const next = { ...applyChange(get(ns, id), change), updatedAt: Date.now() };
      replace.run(next.image, next.spec, next.runtime.name, next.runtime.options, next.rootfs, next.snapshotKey,
        next.snapshotter, encodeLabels(next.labels), next.updatedAt, ns, id);
      return next;
    }),
    delete: db.transaction((ns: string, id: string): void => {
      get(ns, id);
      remove.run(ns, id);
    }),
  };
}
