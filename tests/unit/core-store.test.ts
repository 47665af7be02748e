import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BerthError } from '../../src/common/errors.js';
import { openMetadataStore, type MetadataStore } from '../../src/core/metadata/store.js';
import { MIGRATIONS } from '../../src/core/metadata/migrations.js';

function withStore(fn: (open: () => MetadataStore, path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-core-store-'));
  const opened: MetadataStore[] = [];
  try {
    fn(() => { const s = openMetadataStore(join(dir, 'meta.db')); opened.push(s); return s; }, join(dir, 'meta.db'));
  } finally {
    for (const s of opened) s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const container = (ns: string, id: string, labels: Record<string, string> = {}) => ({
  namespace: ns, id, image: 'busybox', spec: Buffer.from('{"ociVersion":"1.2.0"}'),
  runtime: { name: 'berth-runtime', options: Buffer.alloc(0) }, rootfs: '/x', snapshotKey: '', snapshotter: '', labels,
});

const kindOf = (fn: () => unknown): string => {
  try { fn(); } catch (err) { assert.ok(err instanceof BerthError); return err.kind; }
  return 'no error';
};

test('namespaces: create, labels, duplicate, delete', () => withStore((open) => {
  const s = open();
  s.namespaces.create('a', { x: '1' });
  assert.equal(kindOf(() => s.namespaces.create('a', {})), 'already-exists');
  assert.deepEqual(s.namespaces.updateLabels('a', { y: '2' }, ['x']).labels, { y: '2' });
  assert.deepEqual(s.namespaces.get('a').labels, { y: '2' });
  assert.equal(kindOf(() => s.namespaces.get('b')), 'not-found');
  assert.equal(s.namespaces.ensure('b').created, true);
  assert.equal(s.namespaces.ensure('b').created, false);
  assert.deepEqual(s.namespaces.list().map((n) => n.name), ['a', 'b']);
  s.namespaces.delete('b');
  assert.equal(kindOf(() => s.namespaces.delete('b')), 'not-found');
}));

test('a namespace holding containers cannot be deleted', () => withStore((open) => {
  const s = open();
  s.namespaces.create('a', {});
  s.containers.create(container('a', 'c1'));
  assert.equal(kindOf(() => s.namespaces.delete('a')), 'failed-precondition');
  s.containers.delete('a', 'c1');
  s.namespaces.delete('a');
}));

test('containers: create, duplicate, per-namespace ids, update, delete', () => withStore((open) => {
  const s = open();
  s.namespaces.create('a', {});
  s.namespaces.create('b', {});
  const c = s.containers.create(container('a', 'c1', { app: 'web' }));
  assert.ok(c.createdAt > 0);
  assert.equal(kindOf(() => s.containers.create(container('a', 'c1'))), 'already-exists');
  s.containers.create(container('b', 'c1'));
  assert.equal(s.containers.count('a'), 1);
  const u = s.containers.update('a', 'c1', { fields: ['image'], labels: { app: null, tier: 'db' }, values: { image: 'alpine' } });
  assert.equal(u.image, 'alpine');
  assert.deepEqual(u.labels, { tier: 'db' });
  assert.deepEqual(s.containers.get('a', 'c1').labels, { tier: 'db' });
  assert.equal(s.containers.get('a', 'c1').spec.toString(), '{"ociVersion":"1.2.0"}');
  assert.equal(kindOf(() => s.containers.get('a', 'nope')), 'not-found');
  assert.equal(kindOf(() => s.containers.update('a', 'nope', { fields: [], labels: {}, values: {} })), 'not-found');
  s.containers.delete('a', 'c1');
  assert.equal(kindOf(() => s.containers.delete('a', 'c1')), 'not-found');
  assert.equal(s.containers.list('b').length, 1);
}));

test('every change survives close and reopen; the file is in WAL mode at the latest schema', () => withStore((open, path) => {
  const s = open();
  s.namespaces.create('a', { k: 'v' });
  s.containers.create(container('a', 'c1', { app: 'web' }));
  s.containers.update('a', 'c1', { fields: ['spec'], labels: {}, values: { spec: Buffer.from('{"a":1}') } });
  s.close();
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal((raw.prepare('SELECT version FROM schema_version').get() as { version: number }).version, MIGRATIONS.length);
  raw.close();
  const again = open();
  assert.deepEqual(again.namespaces.get('a').labels, { k: 'v' });
  const c = again.containers.get('a', 'c1');
  assert.equal(c.spec.toString(), '{"a":1}');
  assert.deepEqual(c.labels, { app: 'web' });
}));

test('a failed write inside a transaction leaves nothing behind', () => withStore((open) => {
  const s = open();
  s.namespaces.create('a', {});
  s.containers.create(container('a', 'c1'));
  assert.throws(() => s.transaction(() => {
    s.namespaces.ensure('fresh');
    s.containers.create(container('a', 'c1'));
  }));
  assert.equal(kindOf(() => s.namespaces.get('fresh')), 'not-found');
}));

test('a database from a newer berth-core is refused', () => withStore((open, path) => {
  open().close();
  const raw = new Database(path);
  raw.prepare('UPDATE schema_version SET version = ?').run(MIGRATIONS.length + 1);
  raw.close();
  assert.throws(() => open(), /schema version .* is newer/);
}));
