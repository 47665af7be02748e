/**
 * volatileTransaction: rows of volatile things (tasks, execs) commit with
 * synchronous=NORMAL and the connection is back on FULL afterwards, also
 * when the transaction throws; nested in a FULL transaction it joins it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, volatileTransaction, type Db } from '../../src/core/metadata/db.js';

const FULL = 2;
const NORMAL = 1;
const level = (db: Db): number => db.pragma('synchronous', { simple: true }) as number;

function withDb(fn: (db: Db) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-volatile-'));
  const db = openDatabase(join(dir, 'meta.db'));
  try {
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    fn(db);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a volatile write commits with synchronous=NORMAL and leaves the connection on FULL', () => withDb((db) => {
  assert.equal(level(db), FULL);
  const seen: number[] = [];
  const put = volatileTransaction(db, (k: string) => { seen.push(level(db)); db.prepare('INSERT INTO t VALUES (?)').run(k); });
  put('a');
  assert.deepEqual(seen, [NORMAL]);
  assert.equal(level(db), FULL);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 1);
}));

test('a failing volatile write rolls back and still restores FULL', () => withDb((db) => {
  const put = volatileTransaction(db, (k: string) => { db.prepare('INSERT INTO t VALUES (?)').run(k); throw new Error('boom'); });
  assert.throws(() => put('b'), /boom/);
  assert.equal(level(db), FULL);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 0);
}));

test('nested in a durable transaction it joins it and keeps FULL', () => withDb((db) => {
  const seen: number[] = [];
  const put = volatileTransaction(db, (k: string) => { seen.push(level(db)); db.prepare('INSERT INTO t VALUES (?)').run(k); });
  db.transaction(() => { put('c'); put('d'); })();
  assert.deepEqual(seen, [FULL, FULL]);
  assert.equal(level(db), FULL);
}));
