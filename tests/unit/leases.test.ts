/** The lease manager on a real SQLite file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/common/errors.js';
import { openLeaseManager } from '../../src/core/leases/manager.js';
import type { LeaseManager } from '../../src/core/leases/types.js';
import { openMetadataStore, type MetadataStore } from '../../src/core/metadata/store.js';

function withLeases(fn: (l: LeaseManager, meta: MetadataStore) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-leases-'));
  const meta = openMetadataStore(join(dir, 'meta.db'));
  try { fn(openLeaseManager(meta.db), meta); } finally { meta.close(); rmSync(dir, { recursive: true, force: true }); }
}

const kind = (fn: () => unknown): string => {
  try { fn(); } catch (err) { assert.ok(err instanceof BerthError); return err.kind; }
  return 'no error';
};
const digest = `sha256:${'ab'.repeat(32)}`;

test('create with and without an id, get, list with filters, delete', () => withLeases((l) => {
  const a = l.create('ns', 'pull-1', { purpose: 'pull' });
  const b = l.create('ns', undefined);
  assert.match(b.id, /^[0-9a-z]+-[0-9a-f]{12}$/);
  assert.notEqual(l.create('ns', undefined).id, b.id);
  assert.equal(kind(() => l.create('ns', 'pull-1')), 'already-exists');
  l.create('other', 'pull-1');
  assert.deepEqual(l.get('ns', 'pull-1'), a);
  assert.deepEqual(l.list('ns', ['labels.purpose==pull']).map((x) => x.id), ['pull-1']);
  assert.deepEqual(l.list('ns', [`id==${b.id}`]).map((x) => x.id), [b.id]);
  assert.equal(l.list('ns').length, 3);
  assert.equal(kind(() => l.list('ns', ['owner==x'])), 'invalid-argument');
  l.delete('ns', 'pull-1');
  assert.equal(kind(() => l.get('ns', 'pull-1')), 'not-found');
  assert.equal(kind(() => l.delete('ns', 'pull-1')), 'not-found');
  assert.equal(l.get('other', 'pull-1').id, 'pull-1');
  assert.equal(kind(() => l.create('ns', '')), 'invalid-argument');
}));

test('resources: checked types, idempotent add, delete, gone with the lease', () => withLeases((l, meta) => {
  l.create('ns', 'x');
  l.addResource('ns', 'x', { type: 'content', id: digest });
  l.addResource('ns', 'x', { type: 'content', id: digest });
  l.addResource('ns', 'x', { type: 'ingests', id: 'ref-1' });
  l.addResource('ns', 'x', { type: 'snapshots/overlayfs', id: 'extract-1' });
  assert.deepEqual(l.listResources('ns', 'x'), [
    { type: 'content', id: digest }, { type: 'ingests', id: 'ref-1' }, { type: 'snapshots/overlayfs', id: 'extract-1' },
  ]);
  assert.equal(kind(() => l.addResource('ns', 'x', { type: 'content', id: 'sha256:zz' })), 'invalid-argument');
  assert.equal(kind(() => l.addResource('ns', 'x', { type: 'images', id: 'a' })), 'invalid-argument');
  assert.equal(kind(() => l.addResource('ns', 'x', { type: 'snapshots/', id: 'a' })), 'invalid-argument');
  assert.equal(kind(() => l.addResource('ns', 'nope', { type: 'ingests', id: 'a' })), 'not-found');
  l.deleteResource('ns', 'x', { type: 'ingests', id: 'ref-1' });
  assert.equal(l.listResources('ns', 'x').length, 2);
  l.delete('ns', 'x');
  assert.equal((meta.db.prepare('SELECT COUNT(*) AS n FROM lease_resources').get() as { n: number }).n, 0);
}));

test('an expired lease counts as gone and its id can be taken again', () => withLeases((l) => {
  l.create('ns', 'old', {}, Date.now() - 1);
  assert.equal(kind(() => l.get('ns', 'old')), 'not-found');
  assert.deepEqual(l.list('ns'), []);
  assert.equal(kind(() => l.addResource('ns', 'old', { type: 'ingests', id: 'r' })), 'not-found');
  const again = l.create('ns', 'old', { v: '2' }, Date.now() + 60_000);
  assert.deepEqual(l.get('ns', 'old').labels, { v: '2' });
  assert.ok(again.expiresAt > Date.now());
  assert.equal(kind(() => l.create('ns', 'neg', {}, -5)), 'invalid-argument');
}));
