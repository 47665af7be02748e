/**
 * Opening a SQLite database the way every Berth store does: WAL with
 * synchronous=FULL (a change is on disk when its transaction returns),
 * foreign keys on, a short wait for another writer's lock, then the store's
 * own schema step. berth-core's metadata and berthd's state share this.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BerthError, wrap } from './errors.js';

export type Sqlite = Database.Database;

/** Inside an esbuild bundle the package cannot find its addon by itself: name it. */
export function sqliteBinding(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    return undefined;
  }
}

/** Opens (creating its directory) the database at path; `what` names it in errors; `prepare` migrates. */
export function openSqlite(path: string, what: string, prepare: (db: Sqlite) => void): Sqlite {
  let db: Sqlite;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const binding = sqliteBinding();
    db = new Database(path, binding === undefined ? {} : { nativeBinding: binding });
  } catch (err) {
    throw wrap(`cannot open ${what} ${path}`, err);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // another writer holding the lock briefly must not fail a call at once
    db.pragma('busy_timeout = 5000');
    prepare(db);
  } catch (err) {
    db.close();
    throw err instanceof BerthError ? err : wrap(`cannot open ${what} ${path}`, err);
  }
  return db;
}
