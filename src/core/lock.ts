/**
 * One berth-core per --state: `<state>/core.lock`, a SQLite file held in
 * exclusive locking mode by the serving core. The lock is an fcntl record
 * lock the kernel drops when the process dies (kill -9 included), so a
 * restarted core takes it at once, while a second core started beside a
 * live one is refused — even when they raced to start together.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition, wrap } from '../common/errors.js';
import { openLockDatabase } from './metadata/db.js';

export interface CoreLock { readonly path: string; release(): void }

export function acquireCoreLock(state: string): CoreLock {
  const path = join(state, 'core.lock');
  const pidFile = join(state, 'core.pid');
  const db = openLockDatabase(path);
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // a write takes the exclusive lock; in this mode it is kept until close
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); COMMIT;');
  } catch (err) {
    db.close();
    if (/busy|locked/i.test((err as Error).message)) {
      let holder = '';
      try { holder = ` (pid ${readFileSync(pidFile, 'utf8').trim()})`; } catch { /* unknown holder */ }
      throw failedPrecondition(`cannot start berth-core: another berth-core${holder} holds ${path}`);
    }
    throw wrap(`cannot start berth-core: cannot lock ${path}`, err);
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  return { path, release: () => { if (db.open) db.close(); } };
}
