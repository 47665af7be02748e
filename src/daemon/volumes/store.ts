/** The volumes table of berthd's store and the containers using each volume (migration 3). */
import { alreadyExists, notFound } from '../../common/errors.js';
import type { StateDb } from '../state/db.js';

export interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
  /** RFC 3339, seconds */
  createdAt: string;
}

interface Row { name: string; driver: string; labels: string; options: string; anonymous: number; created_at: string }

const fromRow = (r: Row): VolumeRecord => ({
  name: r.name, driver: r.driver, labels: JSON.parse(r.labels) as Record<string, string>,
  options: JSON.parse(r.options) as Record<string, string>, anonymous: r.anonymous !== 0, createdAt: r.created_at,
});

export class VolumeStore {
  constructor(private readonly db: StateDb) {}

  find(name: string): VolumeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  get(name: string): VolumeRecord {
    const v = this.find(name);
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  list(): VolumeRecord[] {
    return (this.db.prepare('SELECT * FROM volumes ORDER BY name').all() as Row[]).map(fromRow);
  }

  create(v: VolumeRecord): void {
    try {
      this.db.prepare('INSERT INTO volumes (name, driver, labels, options, anonymous, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(v.name, v.driver, JSON.stringify(v.labels), JSON.stringify(v.options), v.anonymous ? 1 : 0, v.createdAt);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw alreadyExists(`volume ${v.name} already exists`);
      throw err;
    }
  }

  delete(name: string): void {
    this.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
  }

  addRef(volume: string, container: string): void {
    this.db.prepare('INSERT OR IGNORE INTO volume_refs (volume, container) VALUES (?, ?)').run(volume, container);
  }

  /** Drops a container's references; the volumes it referenced. */
  dropRefs(container: string): string[] {
    return this.db.transaction(() => {
      const names = (this.db.prepare('SELECT volume FROM volume_refs WHERE container = ?').all(container) as { volume: string }[]).map((r) => r.volume);
      this.db.prepare('DELETE FROM volume_refs WHERE container = ?').run(container);
      return names;
    })();
  }

  refs(volume: string): string[] {
    return (this.db.prepare('SELECT container FROM volume_refs WHERE volume = ? ORDER BY container').all(volume) as { container: string }[]).map((r) => r.container);
  }

  /** Every volume's containers, for listing many at once. */
  allRefs(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const r of this.db.prepare('SELECT volume, container FROM volume_refs').all() as { volume: string; container: string }[]) {
      out.set(r.volume, [...(out.get(r.volume) ?? []), r.container]);
    }
    return out;
  }
}
