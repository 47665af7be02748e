/**
 * The daemon's SQLite store, <data-root>/daemon/state.db: WAL with
 * synchronous=FULL (a change is on disk when its transaction returns),
 * migrations applied at open, each in its own transaction.
 */
import { BerthError } from '../../common/errors.js';
import { openSqlite, type Sqlite } from '../../common/sqlite.js';
import { MIGRATIONS } from './migrations.js';

export type StateDb = Sqlite;

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
  return openSqlite(path, 'daemon database', (db) => migrate(db, path));
}
