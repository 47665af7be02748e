/**
 * The daemon's SQLite store, <data-root>/daemon/state.db: WAL with
 * synchronous=FULL (a change is on disk when its transaction returns),
 * migrations applied at open, each in its own transaction.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BerthError, wrap } from '../../common/errors.js';
import { MIGRATIONS } from './migrations.js';

export type StateDb = Database.Database;

/** Inside the esbuild bundle the package cannot find its addon by itself: name it. */
function nativeBinding(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    return undefined;
  }
}

export function schemaVersion(db: StateDb): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: StateDb, path: string, migrations: readonly string[] = MIGRATIONS): void {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new BerthError('failed-precondition', `cannot open daemon database ${path}: schema version ${current} is newer than this berthd knows (${migrations.length})`);
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export function openStateDb(path: string): StateDb {
  let db: StateDb;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const binding = nativeBinding();
    db = new Database(path, binding === undefined ? {} : { nativeBinding: binding });
  } catch (err) {
    throw wrap(`cannot open daemon database ${path}`, err);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, path);
  } catch (err) {
    db.close();
    throw err instanceof BerthError ? err : wrap(`cannot open daemon database ${path}`, err);
  }
  return db;
}
