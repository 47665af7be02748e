/**
 * The `snapshots` table for one snapshotter: keys are unique per namespace
 * and snapshotter; `backing_id` (a small number, unique per snapshotter
 * across namespaces) names the directory, so overlay's lowerdir list stays
 * short and a commit renames nothing on disk. Every write is one transaction.
 */
import { alreadyExists, failedPrecondition, notFound } from '../../common/errors.js';
import type { Db } from '../metadata/db.js';
import type { SnapshotInfo, SnapshotKind } from './types.js';

export interface SnapshotRow extends SnapshotInfo {
  backingId: string;
  size: number;
  inodes: number;
}

interface RawRow {
  key: string; backing_id: string; parent: string; kind: string; labels: string;
  size: number; inodes: number; created_at: number; updated_at: number;
}

const fromRaw = (r: RawRow): SnapshotRow => ({
  key: r.key, parent: r.parent, kind: r.kind as SnapshotKind, labels: JSON.parse(r.labels) as Record<string, string>,
  createdAt: r.created_at, updatedAt: r.updated_at, backingId: r.backing_id, size: r.size, inodes: r.inodes,
});

export class SnapshotTable {
  constructor(private readonly db: Db, readonly snapshotter: string) {}

  find(ns: string, key: string): SnapshotRow | undefined {
    const r = this.db.prepare('SELECT * FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?').get(ns, this.snapshotter, key) as RawRow | undefined;
    return r ? fromRaw(r) : undefined;
  }

  get(ns: string, key: string): SnapshotRow {
    const r = this.find(ns, key);
    if (!r) throw notFound(`snapshot ${key} does not exist in ${this.snapshotter}`);
    return r;
  }

  list(ns: string): SnapshotRow[] {
    return (this.db.prepare('SELECT * FROM snapshots WHERE namespace = ? AND snapshotter = ? ORDER BY key').all(ns, this.snapshotter) as RawRow[]).map(fromRaw);
  }

  /** Every backing id in use, whatever the namespace (for leftovers on disk). */
  backingIds(): Set<string> {
    const rows = this.db.prepare('SELECT backing_id FROM snapshots WHERE snapshotter = ?').all(this.snapshotter) as { backing_id: string }[];
    return new Set(rows.map((r) => r.backing_id));
  }

  /** The committed chain from parent upwards (nearest first), checked to exist and be committed. */
  chain(ns: string, parent: string): SnapshotRow[] {
    const out: SnapshotRow[] = [];
    for (let k = parent; k !== '';) {
      const r = this.find(ns, k);
      if (!r) throw notFound(`parent snapshot ${k} does not exist in ${this.snapshotter}`);
      if (r.kind !== 'committed') throw failedPrecondition(`parent snapshot ${k} is not committed (it is ${r.kind})`);
      out.push(r);
      k = r.parent;
    }
    return out;
  }

  /** A new row with a fresh backing id. */
  insert(ns: string, key: string, parent: string, kind: SnapshotKind, labels: Record<string, string>): SnapshotRow {
    return this.db.transaction(() => {
      if (this.find(ns, key)) throw alreadyExists(`snapshot ${key} already exists in ${this.snapshotter}`);
      if (parent !== '') this.chain(ns, parent);
      const max = this.db.prepare('SELECT MAX(CAST(backing_id AS INTEGER)) AS m FROM snapshots WHERE snapshotter = ?').get(this.snapshotter) as { m: number | null };
      const backingId = String((max.m ?? 0) + 1);
      const now = Date.now();
      this.db.prepare(`INSERT INTO snapshots (namespace, snapshotter, key, backing_id, parent, kind, labels, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(ns, this.snapshotter, key, backingId, parent, kind, JSON.stringify(labels), now, now);
      return this.get(ns, key);
    })();
  }

  /** Active `key` becomes committed `name`. */
  commit(ns: string, name: string, key: string, labels: Record<string, string>, usage: { size: number; inodes: number }): void {
    this.db.transaction(() => {
      const r = this.get(ns, key);
      if (r.kind !== 'active') throw failedPrecondition(`cannot commit snapshot ${key}: it is ${r.kind}, not active`);
      if (this.find(ns, name)) throw alreadyExists(`cannot commit snapshot ${key}: snapshot ${name} already exists in ${this.snapshotter}`);
      this.db.prepare(`UPDATE snapshots SET key = ?, kind = 'committed', labels = ?, size = ?, inodes = ?, updated_at = ?
        WHERE namespace = ? AND snapshotter = ? AND key = ?`)
        .run(name, JSON.stringify({ ...r.labels, ...labels }), usage.size, usage.inodes, Date.now(), ns, this.snapshotter, key);
    })();
  }

  setLabels(ns: string, key: string, labels: Record<string, string>): SnapshotRow {
    return this.db.transaction(() => {
      this.get(ns, key);
      this.db.prepare('UPDATE snapshots SET labels = ?, updated_at = ? WHERE namespace = ? AND snapshotter = ? AND key = ?')
        .run(JSON.stringify(labels), Date.now(), ns, this.snapshotter, key);
      return this.get(ns, key);
    })();
  }

  /** Deletes the row; refused while a snapshot has it as parent. */
  delete(ns: string, key: string): SnapshotRow {
    return this.db.transaction(() => {
      const r = this.get(ns, key);
      const child = this.db.prepare('SELECT key FROM snapshots WHERE namespace = ? AND snapshotter = ? AND parent = ? LIMIT 1').get(ns, this.snapshotter, key) as { key: string } | undefined;
      if (child) throw failedPrecondition(`cannot remove snapshot ${key}: snapshot ${child.key} has it as parent`);
      this.db.prepare('DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?').run(ns, this.snapshotter, key);
      return r;
    })();
  }
}
