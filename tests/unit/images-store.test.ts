import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/common/errors.js';
import { chainIds } from '../../src/core/images/chainid.js';
import { openImageStore } from '../../src/core/images/store.js';
import { openMetadataStore, type MetadataStore } from '../../src/core/metadata/store.js';

function withStore(fn: (s: MetadataStore) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-images-store-'));
  const s = openMetadataStore(join(dir, 'meta.db'));
  try { fn(s); } finally { s.close(); rmSync(dir, { recursive: true, force: true }); }
}

const digestOf = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const target = (s: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(s), size: s.length });
const kindOf = (fn: () => unknown): string => {
  try { fn(); } catch (err) { assert.ok(err instanceof BerthError); return err.kind; }
  return 'no error';
};

test('chain IDs: the first is the diff ID, then sha256 of "<parent chain> <diff>" (checked with sha256sum)', () => {
  const diffs = [digestOf('a'), digestOf('b'), digestOf('c')];
  const chain = chainIds(diffs);
  assert.equal(chain[0], diffs[0]);
  const sum = (text: string): string => `sha256:${execFileSync('sha256sum', { input: text }).toString().split(' ')[0]}`;
  assert.equal(chain[1], sum(`${diffs[0]} ${diffs[1]}`));
  assert.equal(chain[2], sum(`${chain[1]} ${diffs[2]}`));
  assert.deepEqual(chainIds([]), []);
});

test('images: create, get, duplicate, put replaces, update labels, delete, per namespace', () => withStore((m) => {
  const images = openImageStore(m.db);
  const a = images.create({ namespace: 'n1', name: 'docker.io/library/a:1', target: target('a'), labels: { x: '1' } });
  assert.equal(a.target.digest, digestOf('a'));
  assert.equal(kindOf(() => images.create({ namespace: 'n1', name: 'docker.io/library/a:1', target: target('a'), labels: {} })), 'already-exists');
  assert.equal(kindOf(() => images.get('n2', 'docker.io/library/a:1')), 'not-found');
  const b = images.put({ namespace: 'n1', name: 'docker.io/library/a:1', target: target('b'), labels: {} });
  assert.equal(b.target.digest, digestOf('b'));
  assert.equal(b.createdAt, a.createdAt);
  const u = images.update('n1', 'docker.io/library/a:1', { labels: { y: '2' } }, ['labels.y']);
  assert.deepEqual(u.labels, { y: '2' });
  assert.deepEqual(images.update('n1', 'docker.io/library/a:1', { labels: {} }, ['labels.y']).labels, {});
  assert.equal(kindOf(() => images.update('n1', 'docker.io/library/a:1', {}, ['name'])), 'invalid-argument');
  assert.equal(kindOf(() => images.create({ namespace: 'n1', name: 'x', target: { ...target('x'), digest: 'md5:00' }, labels: {} })), 'invalid-argument');
  images.delete('n1', 'docker.io/library/a:1');
  assert.equal(kindOf(() => images.delete('n1', 'docker.io/library/a:1')), 'not-found');
}));

test('images: filters by name, target digest and labels; any filter matches', () => withStore((m) => {
  const images = openImageStore(m.db);
  images.create({ namespace: 'n', name: 'r/a:1', target: target('a'), labels: { app: 'web' } });
  images.create({ namespace: 'n', name: 'r/a:2', target: target('a'), labels: { app: 'db' } });
  images.create({ namespace: 'n', name: 'r/b:1', target: target('b'), labels: {} });
  const names = (f: string[]): string[] => images.list('n', f).map((i) => i.name);
  assert.deepEqual(names([]), ['r/a:1', 'r/a:2', 'r/b:1']);
  assert.deepEqual(names(['name==r/b:1']), ['r/b:1']);
  assert.deepEqual(names([`target.digest==${digestOf('a')}`]), ['r/a:1', 'r/a:2']);
  assert.deepEqual(names([`target.digest==${digestOf('a')},labels.app==db`]), ['r/a:2']);
  assert.deepEqual(names(['labels.app==web', 'name==r/b:1']), ['r/a:1', 'r/b:1']);
  assert.deepEqual(names(['labels.app']), ['r/a:1', 'r/a:2']);
  assert.deepEqual(names(['name!=r/a:1']), ['r/a:2', 'r/b:1']);
  assert.equal(kindOf(() => images.list('n', ['size==1'])), 'invalid-argument');
}));

test('images: listing 500 images takes well under 100 ms', () => withStore((m) => {
  const images = openImageStore(m.db);
  m.transaction(() => {
    for (let i = 0; i < 500; i++) images.create({ namespace: 'n', name: `r/img:${i}`, target: target(String(i)), labels: { i: String(i) } });
  });
  images.list('n');
  const t0 = performance.now();
  const all = images.list('n');
  const ms = performance.now() - t0;
  assert.equal(all.length, 500);
  assert.ok(ms < 100, `listing 500 images took ${ms.toFixed(1)} ms`);
}));
