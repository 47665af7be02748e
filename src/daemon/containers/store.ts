/**
 * The containers table of berthd's state DB: one row per container, the
 * record as JSON, the name unique. Every write is one transaction under
 * synchronous=FULL, so a change is on disk before the API answers.
 */
import { alreadyExists, invalidArgument, notFound } from '../../common/errors.js';
import type { Statement } from 'better-sqlite3';
import { withoutSync, type StateDb } from '../state/db.js';
import { nameConflict } from './names.js';
import type { ContainerRecord } from './types.js';

interface Row { id: string; name: string; record: string }

export class ContainerStore {
  /** Statements prepared once: every API request reads records through here (prepare costs ~20 µs). */
  private readonly statements = new Map<string, Statement<unknown[]>>();

  constructor(private readonly db: StateDb) {}

  private sql(text: string): Statement<unknown[]> {
    let s = this.statements.get(text);
    if (!s) this.statements.set(text, s = this.db.prepare(text));
    return s;
  }

  private parse(row: Row): ContainerRecord {
    return JSON.parse(row.record) as ContainerRecord;
  }

  /** Inserts a new container; a taken name is Docker's 409. */
  insert(c: ContainerRecord): void {
    const taken = this.sql('SELECT id FROM containers WHERE name = ?').get(c.Name) as { id: string } | undefined;
    if (taken) throw alreadyExists(nameConflict(c.Name, taken.id));
    this.sql('INSERT INTO containers (id, name, created_ms, record) VALUES (?, ?, ?, ?)').run(c.ID, c.Name, c.CreatedMs, JSON.stringify(c));
  }

  /** Replaces a container's record (its name included; a taken name is a 409). */
  save(c: ContainerRecord): void {
    const taken = this.sql('SELECT id FROM containers WHERE name = ? AND id <> ?').get(c.Name, c.ID) as { id: string } | undefined;
    if (taken) throw alreadyExists(nameConflict(c.Name, taken.id));
    const r = this.sql('UPDATE containers SET name = ?, record = ? WHERE id = ?').run(c.Name, JSON.stringify(c), c.ID);
    if (r.changes === 0) throw notFound(`No such container: ${c.ID}`);
  }

  delete(id: string): void {
    this.sql('DELETE FROM containers WHERE id = ?').run(id);
  }

  get(id: string): ContainerRecord | undefined {
    const row = this.sql('SELECT id, name, record FROM containers WHERE id = ?').get(id) as Row | undefined;
    return row ? this.parse(row) : undefined;
  }

  byName(name: string): ContainerRecord | undefined {
    const row = this.sql('SELECT id, name, record FROM containers WHERE name = ?').get(name) as Row | undefined;
    return row ? this.parse(row) : undefined;
  }

  /** Every container, newest first (ps order). */
  list(): ContainerRecord[] {
    return (this.sql('SELECT id, name, record FROM containers ORDER BY created_ms DESC, id').all() as Row[]).map((r) => this.parse(r));
  }

  /** How many containers are in each State.Status (what /info counts), without parsing every record. */
  countByStatus(): Map<string, number> {
    const rows = this.sql("SELECT json_extract(record, '$.State.Status') AS status, count(*) AS n FROM containers GROUP BY status").all() as { status: string | null; n: number }[];
    return new Map(rows.map((r) => [r.status ?? '', r.n]));
  }

  /**
   * A container's State.Health (null clears it), in its own column so a
   * probe never rewrites the record. Written without an fsync: it survives
   * a kill -9 of berthd; a power cut may lose the last probes, which no
   * client was promised (the next probe writes it again). A removed
   * container's row is gone, and so is the write.
   */
  saveHealth(id: string, health: object | null): void {
    withoutSync(this.db, () => this.sql('UPDATE containers SET health = ? WHERE id = ?').run(health === null ? null : JSON.stringify(health), id));
  }

  /** Every stored State.Health, by container ID. */
  healths(): Map<string, unknown> {
    const rows = this.sql('SELECT id, health FROM containers WHERE health IS NOT NULL').all() as { id: string; health: string }[];
    return new Map(rows.map((r) => [r.id, JSON.parse(r.health) as unknown]));
  }

  /** Docker's lookup: full ID, exact name, then a unique ID prefix. */
  find(ref: string): ContainerRecord {
    const c = this.get(ref) ?? this.byName(ref.startsWith('/') ? ref : `/${ref}`);
    if (c) return c;
    if (/^[0-9a-f]+$/.test(ref)) {
      const rows = this.sql("SELECT id, name, record FROM containers WHERE id LIKE ? || '%'").all(ref) as Row[];
      if (rows.length === 1) return this.parse(rows[0]!);
      if (rows.length > 1) throw invalidArgument(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw notFound(`No such container: ${ref}`);
  }
}

