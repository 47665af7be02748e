/**
 * One berth-core per --state: `<state>/core.lock`, a SQLite file held in
 * exclusive locking mode by the serving core. The lock is an fcntl record
 * lock the kernel drops when the process dies (kill -9 included), so a
 * restarted core takes it at once, while a second core started beside a
 * live one is refused — even when they raced to start together.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { failedPrecondition, wrap } from '../common/errors.js';
import { openLockDatabase } from './metadata/db.js';

export interface CoreLock { readonly path: string; release(): void }

/** One attempt: the held lock, or undefined when another connection holds (or is taking) it. */
function tryLock(path: string): ReturnType<typeof openLockDatabase> | undefined {
  const db = openLockDatabase(path);
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // a write takes the exclusive lock; in this mode it is kept until close
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); COMMIT;');
    return db;
  } catch (err) {
    db.close();
    if (/busy|locked/i.test((err as Error).message)) return undefined;
    throw wrap(`cannot start berth-core: cannot lock ${path}`, err);
  }
}

/**
 * Two cores starting together can both fail to take the lock (each holds a
 * shared lock the other waits on); each then lets go and tries again after a
 * random pause, so one of them wins. A lock still held after that belongs to
 * a live core.
 */
export async function acquireCoreLock(state: string): Promise<CoreLock> {
  const path = join(state, 'core.lock');
  const pidFile = join(state, 'core.pid');
  for (let attempt = 0; attempt < 8; attempt++) {
    const db = tryLock(path);
    if (db) {
      writeFileSync(pidFile, `${process.pid}\n`);
      return { path, release: () => { if (db.open) db.close(); } };
    }
    await sleep(20 + Math.floor(Math.random() * 80));
  }
  let holder = '';
  try { holder = ` (pid ${readFileSync(pidFile, 'utf8').trim()})`; } catch { /* unknown holder */ }
  throw failedPrecondition(`cannot start berth-core: another berth-core${holder} holds ${path}`);
}
