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

/**
 * Runs fn's writes without waiting for the disk (synchronous=NORMAL under
 * WAL): they are in the WAL when fn returns, so a kill -9 of berthd keeps
 * them, and the next durable commit syncs them with its own. Only for
 * steps no client was told of yet and whose loss to a power cut the
 * restore repairs (a removal's intermediate marks).
 */
export function withoutSync<T>(db: StateDb, fn: () => T): T {
  const level = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('synchronous = NORMAL');
  try {
    return fn();
  } finally {
    db.pragma(`synchronous = ${level}`);
  }
}
