/** The namespaces table: NamespaceStore over SQLite, every write one transaction. */
import { alreadyExists, failedPrecondition, notFound } from '../../common/errors.js';
import type { Labels, NamespaceRecord, NamespaceStore } from '../namespaces/store.js';
import type { Db } from './db.js';
import { decodeLabels, encodeLabels } from './labels.js';

interface Row { name: string; labels: string; created_at: number }

const toRecord = (r: Row): NamespaceRecord => ({ name: r.name, labels: decodeLabels(r.labels), createdAt: r.created_at });

export function namespaceStore(db: Db): NamespaceStore {
  const selectOne = db.prepare('SELECT name, labels, created_at FROM namespaces WHERE name = ?');
  const selectAll = db.prepare('SELECT name, labels, created_at FROM namespaces ORDER BY name');
  const insert = db.prepare('INSERT INTO namespaces (name, labels, created_at, updated_at) VALUES (?, ?, ?, ?)');
  const setLabels = db.prepare('UPDATE namespaces SET labels = ?, updated_at = ? WHERE name = ?');
  const remove = db.prepare('DELETE FROM namespaces WHERE name = ?');
  const countContainers = db.prepare('SELECT COUNT(*) AS n FROM containers WHERE namespace = ?');

  const find = (name: string): NamespaceRecord | undefined => {
    const row = selectOne.get(name) as Row | undefined;
    return row ? toRecord(row) : undefined;
  };
  const get = (name: string): NamespaceRecord => {
    const found = find(name);
    if (!found) throw notFound(`namespace ${name} not found`);
    return found;
  };
  const insertNew = (name: string, labels: Labels): NamespaceRecord => {
    const now = Date.now();
    insert.run(name, encodeLabels(labels), now, now);
    return { name, labels: { ...labels }, createdAt: now };
  };

  return {
    get,
    list: () => (selectAll.all() as Row[]).map(toRecord),
    create: db.transaction((name: string, labels: Labels): NamespaceRecord => {
      if (find(name)) throw alreadyExists(`namespace ${name} already exists`);
      return insertNew(name, labels);
    }),
    ensure: db.transaction((name: string) => {
      const found = find(name);
      return found ? { record: found, created: false } : { record: insertNew(name, {}), created: true };
    }),
    updateLabels: db.transaction((name: string, set: Labels, drop: string[]): NamespaceRecord => {
      const ns = get(name);
      const labels = { ...ns.labels };
      for (const k of drop) delete labels[k];
      Object.assign(labels, set);
      setLabels.run(encodeLabels(labels), Date.now(), name);
      return { ...ns, labels };
    }),
    delete: db.transaction((name: string): void => {
      get(name);
      const n = (countContainers.get(name) as { n: number }).n;
      if (n > 0) throw failedPrecondition(`cannot delete namespace ${name}: it still holds ${n} container${n === 1 ? '' : 's'}`);
      remove.run(name);
    }),
  };
}
