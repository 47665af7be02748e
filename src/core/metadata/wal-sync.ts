/**
 * Flushing a SQLite database's WAL from outside SQLite, for
 * durableTransaction (db.ts): one descriptor held on `<db>-wal` and
 * fdatasync(2) on it. Flushing works on the inode, so this descriptor
 * flushes what SQLite's own wrote. The WAL is looked up at each use (one
 * stat): a WAL that is gone or was replaced is let go, and a new one is
 * opened with its directory flushed once — as SQLite does at a new WAL's
 * first sync, so the file itself survives a power loss, not only its data.
 */
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { wrap } from '../../common/errors.js';

export interface WalSyncer {
  /** Whether the WAL is there and held, so sync() flushes it; false: let SQLite sync (FULL). */
  ready(): boolean;
  /** Flushes the WAL's data and what reading it back needs (fdatasync); throws when that fails. */
  sync(): void;
  /** Lets the descriptor go (the database is closing). */
  close(): void;
}

const identity = (path: string): string | undefined => {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
};

const identityOf = (fd: number): string => {
  const st = fstatSync(fd, { bigint: true });
  return `${st.dev}:${st.ino}`;
};

function flushDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

export function walSyncer(dbPath: string): WalSyncer {
  const path = `${dbPath}-wal`;
  let fd = -1;
  let held: string | undefined;
  const release = (): void => {
    if (fd >= 0) { try { closeSync(fd); } catch { /* already closed */ } }
    fd = -1;
    held = undefined;
  };
  return {
    ready(): boolean {
      const now = identity(path);
      if (now === undefined) { release(); return false; }
      if (now === held) return true;
      release();
      try {
        fd = openSync(path, 'r');
        // the one opened is the one looked at (nothing replaced it in between)
        if (identityOf(fd) !== now) { release(); return false; }
        flushDir(dirname(path));
      } catch {
        release();
        return false;
      }
      held = now;
      return true;
    },
    sync(): void {
      try { fdatasyncSync(fd); } catch (err) { throw wrap(`cannot flush ${path}`, err); }
    },
    close: release,
  };
}
