/**
 * Opens berth-core's metadata database: SQLite in WAL mode with
 * synchronous=FULL, so a change is on disk when its transaction returns —
 * the core acknowledges a call only after that (better-sqlite3 is
 * synchronous). Applies pending migrations. Rows that describe processes
 * (tasks, execs) commit through volatileTransaction instead.
 */
import Database from 'better-sqlite3';
import { BerthError, wrap } from '../../common/errors.js';
import { openSqlite, sqliteBinding } from '../../common/sqlite.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export function openDatabase(path: string): Db {
  return openSqlite(path, 'metadata database', (db) => migrate(db, path));
}

/**
 * A transaction for rows that describe volatile things (tasks, execs: live
 * processes), committed with synchronous=NORMAL: no fsync of the WAL at
 * commit. Why that is enough: the WAL frames are written (write(2)) before
 * the commit returns, so a kill -9 of the core loses nothing (the page cache
 * survives the process), and WAL stays consistent; only a power loss can
 * drop the last such commits — and a power loss ends every process those
 * rows describe, which recovery then reports from the missing shims anyway.
 * The next FULL commit (a container, namespace, image …) fsyncs the whole
 * WAL, these frames included, so order on disk is kept. This takes 5 of the
 * 7 fsyncs per container off create → start → wait → delete.
 * Nested in an outer transaction it simply joins it (and its durability).
 */
export function volatileTransaction<A extends unknown[], R>(db: Db, fn: (...args: A) => R): (...args: A) => R {
  const tx = db.transaction(fn);
  return (...args: A): R => {
    if (db.inTransaction) return tx(...args);
    // db.pragma each time, not a prepared statement: SQLite applies a
    // PRAGMA's setting when it compiles it, so re-running one does nothing
    db.pragma('synchronous = NORMAL');
    try {
      return tx(...args);
    } finally {
      db.pragma('synchronous = FULL');
    }
  };
}

/** A bare SQLite connection (no journal, no wait for a lock), for the core's lock file. */
export function openLockDatabase(path: string): Db {
  const binding = sqliteBinding();
  try {
    const db = new Database(path, binding === undefined ? {} : { nativeBinding: binding });
    db.pragma('busy_timeout = 0');
    return db;
  } catch (err) {
    throw wrap(`cannot open lock file ${path}`, err);
  }
}

export function schemaVersion(db: Db): number {
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  return row?.version ?? 0;
}

function migrate(db: Db, path: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const n = (db.prepare('SELECT COUNT(*) AS n FROM schema_version').get() as { n: number }).n;
  if (n === 0) db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new BerthError('failed-precondition', `cannot open metadata database ${path}: schema version ${current} is newer than this berth-core knows (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.prepare('UPDATE schema_version SET version = ?').run(v + 1);
    })();
  }
}
