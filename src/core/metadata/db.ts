/**
 * Opens berth-core's metadata database: SQLite in WAL mode with
 * synchronous=FULL, so a change is on disk when its transaction returns —
 * the core acknowledges a call only after that (better-sqlite3 is
 * synchronous). Applies pending migrations. The core's own hot writes say
 * how durable they are: containers and namespaces through
 * durableTransaction (on disk, with fdatasync), tasks and execs through
 * volatileTransaction (survive the process, not a power loss).
 */
import Database from 'better-sqlite3';
import { BerthError, wrap } from '../../common/errors.js';
import { openSqlite, sqliteBinding } from '../../common/sqlite.js';
import { MIGRATIONS } from './migrations.js';
import { walSyncer, type WalSyncer } from './wal-sync.js';

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
  return (...args: A): R => (db.inTransaction ? tx(...args) : relaxed(db, () => tx(...args)));
}

/** Runs commit with synchronous=NORMAL (no sync at commit), FULL again after. */
function relaxed<R>(db: Db, commit: () => R): R {
  // db.pragma each time, not a prepared statement: SQLite applies a
  // PRAGMA's setting when it compiles it, so re-running one does nothing
  db.pragma('synchronous = NORMAL');
  try {
    return commit();
  } finally {
    db.pragma('synchronous = FULL');
  }
}

/**
 * A transaction as durable as a synchronous=FULL one, for the records a
 * caller is promised (containers, namespaces): committed with
 * synchronous=NORMAL, then the WAL flushed with fdatasync(2) before it
 * returns. With FULL, SQLite as built here flushes with fsync(2), which
 * also writes the WAL's inode (its mtime changes on every commit) and so
 * forces an ext4 journal commit that waits for every other process's
 * pending metadata: under load that was most of a Containers.Create.
 * fdatasync flushes the frames and whatever metadata reading them back
 * needs (the size, new blocks), which is the durability FULL gives — the
 * commit is on disk when this returns. The WAL's directory entry is made
 * durable once per WAL file (wal-sync.ts). When the WAL cannot be synced
 * this way (not there yet) the commit is a plain FULL one. Nested in an
 * outer transaction it joins it (and its durability).
 */
export function durableTransaction<A extends unknown[], R>(db: Db, fn: (...args: A) => R): (...args: A) => R {
  const tx = db.transaction(fn);
  const wal = walOf(db);
  return (...args: A): R => {
    if (db.inTransaction || !wal.ready()) return tx(...args);
    const result = relaxed(db, () => tx(...args));
    wal.sync();
    return result;
  };
}

/** One WAL descriptor per connection, shared by its durable transactions. */
const wals = new WeakMap<Db, WalSyncer>();

function walOf(db: Db): WalSyncer {
  let wal = wals.get(db);
  if (!wal) { wal = walSyncer(db.name); wals.set(db, wal); }
  return wal;
}

/** Closes the connection and the WAL descriptor durableTransaction holds on it. */
export function closeDatabase(db: Db): void {
  wals.get(db)?.close();
  wals.delete(db);
  if (db.open) db.close();
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
