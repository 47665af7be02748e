/**
 * durableTransaction: records a caller is promised (containers,
 * namespaces) commit with synchronous=NORMAL and are then flushed with an
 * fdatasync of the WAL; the connection is back on FULL afterwards, also
 * when the transaction throws; nested in another transaction it joins it.
 * walSyncer holds the WAL only while it is there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeDatabase, durableTransaction, openDatabase, type Db } from '../../src/core/metadata/db.js';
import { walSyncer } from '../../src/core/metadata/wal-sync.js';

const FULL = 2;
const NORMAL = 1;
const level = (db: Db): number => db.pragma('synchronous', { simple: true }) as number;
const count = (db: Db): number => (db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n;

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-durable-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

function withDb(fn: (db: Db, path: string) => void): void {
  withDir((dir) => {
    const path = join(dir, 'meta.db');
    const db = openDatabase(path);
    try {
      db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
      fn(db, path);
    } finally {
      closeDatabase(db);
    }
  });
}

test('a durable write commits with synchronous=NORMAL, is flushed, and leaves the connection on FULL', () => withDb((db, path) => {
  const seen: number[] = [];
  const put = durableTransaction(db, (k: string) => { seen.push(level(db)); db.prepare('INSERT INTO t VALUES (?)').run(k); });
  put('a');
  put('b');
  assert.deepEqual(seen, [NORMAL, NORMAL]);
  assert.equal(level(db), FULL);
  // what was committed is in the files: a second connection reads it
  const other = openDatabase(path);
  try { assert.equal(count(other), 2); } finally { closeDatabase(other); }
}));

test('a failing durable write rolls back and still restores FULL', () => withDb((db) => {
  const put = durableTransaction(db, (k: string) => { db.prepare('INSERT INTO t VALUES (?)').run(k); throw new Error('boom'); });
  assert.throws(() => put('c'), /boom/);
  assert.equal(level(db), FULL);
  assert.equal(count(db), 0);
}));

test('nested in another transaction a durable write joins it', () => withDb((db) => {
  const seen: number[] = [];
  const put = durableTransaction(db, (k: string) => { seen.push(level(db)); db.prepare('INSERT INTO t VALUES (?)').run(k); });
  db.transaction(() => { put('d'); put('e'); })();
  assert.deepEqual(seen, [FULL, FULL]);
  assert.equal(count(db), 2);
}));

test('walSyncer holds the WAL only while it is there, and takes a replaced one afresh', () => withDir((dir) => {
  const wal = walSyncer(join(dir, 'x.db'));
  try {
    assert.equal(wal.ready(), false, 'no WAL yet');
    writeFileSync(join(dir, 'x.db-wal'), 'frames');
    assert.equal(wal.ready(), true);
    wal.sync();
    // another file renamed over it: still ready (the new one is held), and flushable
    writeFileSync(join(dir, 'new'), 'other frames');
    renameSync(join(dir, 'new'), join(dir, 'x.db-wal'));
    assert.equal(wal.ready(), true);
    wal.sync();
    rmSync(join(dir, 'x.db-wal'));
    assert.equal(wal.ready(), false, 'a WAL that is gone is let go');
  } finally {
    wal.close();
  }
}));
