/**
 * What the overlay and native snapshotters share: metadata in the
 * `snapshots` table (table.ts), one directory per snapshot under
 * `<root>/snapshots/<name>/<backing_id>/` with the tree in `fs/`, label
 * updates and filters, usage. Each subclass says how a new snapshot's
 * directory is made, which mounts show it, and how deletions are written.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition, invalidArgument } from '../../common/errors.js';
import type { Db } from '../metadata/db.js';
import { SnapshotTable, type SnapshotRow } from './table.js';
import type { Mount, SnapshotInfo, SnapshotKind, Snapshotter, SnapshotUsage } from './types.js';
import { directoryUsage } from './usage.js';

const info = (r: SnapshotRow): SnapshotInfo => ({ key: r.key, parent: r.parent, kind: r.kind, labels: r.labels, createdAt: r.createdAt, updatedAt: r.updatedAt });

/** One filter: comma-separated `field==value`, `field!=value` or `field` (present); fields kind, parent, key/name, labels.<k>. */
function matches(r: SnapshotRow, filter: string): boolean {
  return filter.split(',').map((c) => c.trim()).filter(Boolean).every((clause) => {
    const m = /^([^=!]+?)\s*(==|!=)\s*(.*)$/.exec(clause);
    const field = (m?.[1] ?? clause).trim();
    const value = field === 'kind' ? r.kind : field === 'parent' ? r.parent : field === 'key' || field === 'name' ? r.key
      : field.startsWith('labels.') ? r.labels[field.slice('labels.'.length)] : undefined;
    if (!m) return value !== undefined && value !== '';
    return m[2] === '==' ? value === m[3] : value !== m[3];
  });
}

export abstract class DirSnapshotter implements Snapshotter {
  protected readonly table: SnapshotTable;
  /** `<root>/snapshots/<name>` */
  protected readonly home: string;
  abstract readonly whiteouts: 'overlay' | 'delete';

  constructor(db: Db, root: string, readonly name: string) {
    this.table = new SnapshotTable(db, name);
    this.home = join(root, 'snapshots', name);
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
  }

  /** Makes the directory of a new snapshot over chain (nearest parent first). */
  protected abstract create(dir: string, kind: SnapshotKind, chain: SnapshotRow[]): Promise<void>;
  /** The mounts of an active snapshot or a view. */
  protected abstract mountsOf(r: SnapshotRow, chain: SnapshotRow[]): Mount[];

  protected dirOf(r: SnapshotRow): string {
    return join(this.home, r.backingId);
  }

  protected fsOf(r: SnapshotRow): string {
    return join(this.home, r.backingId, 'fs');
  }

  stat(ns: string, key: string): SnapshotInfo {
    return info(this.table.get(ns, key));
  }

  list(ns: string, filters: string[] = []): SnapshotInfo[] {
    const rows = this.table.list(ns);
    return (filters.length === 0 ? rows : rows.filter((r) => filters.some((f) => matches(r, f)))).map(info);
  }

  /** No fields (or "labels"): the labels are replaced; "labels.<k>": that label set from labels, or removed when absent. */
  update(ns: string, key: string, labels: Record<string, string>, fields: string[] = []): SnapshotInfo {
    const r = this.table.get(ns, key);
    let next: Record<string, string>;
    if (fields.length === 0 || fields.includes('labels')) next = { ...labels };
    else {
      next = { ...r.labels };
      for (const f of fields) {
        if (!f.startsWith('labels.')) throw invalidArgument(`cannot update snapshot ${key}: field ${f} cannot be updated`);
        const k = f.slice('labels.'.length);
        if (labels[k] === undefined) delete next[k]; else next[k] = labels[k];
      }
    }
    return info(this.table.setLabels(ns, key, next));
  }

  async usage(ns: string, key: string): Promise<SnapshotUsage> {
    const r = this.table.get(ns, key);
    if (r.kind === 'committed' && r.inodes > 0) return { size: r.size, inodes: r.inodes };
    return directoryUsage(this.fsOf(r));
  }

  mounts(ns: string, key: string): Mount[] {
    const r = this.table.get(ns, key);
    if (r.kind === 'committed') throw failedPrecondition(`cannot mount snapshot ${key}: it is committed (prepare or view a child of it)`);
    return this.mountsOf(r, this.table.chain(ns, r.parent));
  }

  prepare(ns: string, key: string, parent: string, labels: Record<string, string> = {}): Promise<Mount[]> {
    return this.make(ns, key, parent, 'active', labels);
  }

  view(ns: string, key: string, parent: string, labels: Record<string, string> = {}): Promise<Mount[]> {
    return this.make(ns, key, parent, 'view', labels);
  }

  private async make(ns: string, key: string, parent: string, kind: SnapshotKind, labels: Record<string, string>): Promise<Mount[]> {
    if (key === '') throw invalidArgument('cannot create a snapshot without a key');
    const r = this.table.insert(ns, key, parent, kind, labels);
    const chain = this.table.chain(ns, parent);
    try {
      await this.create(this.dirOf(r), kind, chain);
    } catch (err) {
      this.table.delete(ns, key);
      rmSync(this.dirOf(r), { recursive: true, force: true });
      throw err;
    }
    return this.mountsOf(r, chain);
  }

  async commit(ns: string, name: string, key: string, labels: Record<string, string> = {}): Promise<void> {
    if (name === '') throw invalidArgument(`cannot commit snapshot ${key} without a name`);
    const r = this.table.get(ns, key);
    this.table.commit(ns, name, key, labels, directoryUsage(this.fsOf(r)));
  }

  applyTarget(ns: string, key: string): { dir: string; whiteouts: 'overlay' | 'delete' } {
    const r = this.table.get(ns, key);
    if (r.kind !== 'active') throw failedPrecondition(`cannot apply a layer to snapshot ${key}: it is ${r.kind}, not active`);
    return { dir: this.fsOf(r), whiteouts: this.whiteouts };
  }

  async remove(ns: string, key: string): Promise<void> {
    const r = this.table.delete(ns, key);
    rmSync(this.dirOf(r), { recursive: true, force: true });
  }
}
