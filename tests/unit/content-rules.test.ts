/** Pure rules of the content store and its collector: digests, filters, labels, gc references and marking. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/common/errors.js';
import { checkDigest, digestOf, hexOf, isDigest } from '../../src/core/content/digest.js';
import { fieldReader, matchesAny, parseFilters } from '../../src/core/content/filters.js';
import { checkLabels, updatedLabels } from '../../src/core/content/labels.js';
import { ingestId } from '../../src/core/content/paths.js';
import { mark, unmarkedLeaf, type NamespaceGraph, type SnapshotNode } from '../../src/core/gc/mark.js';
import { labelRefs } from '../../src/core/gc/refs.js';

const kind = (fn: () => unknown): string => {
  try { fn(); } catch (err) { assert.ok(err instanceof BerthError); return err.kind; }
  return 'no error';
};
const d = (c: string): string => `sha256:${c.repeat(64)}`;

test('digests: sha256 and 64 lowercase hex digits only', () => {
  assert.equal(digestOf(Buffer.from('')), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(hexOf(d('a')), 'a'.repeat(64));
  for (const bad of ['', 'sha256:', d('A'), d('g'), `${d('a')}0`, `sha512:${'a'.repeat(64)}`, `sha256:${'a'.repeat(63)}/`, `sha256:../${'a'.repeat(61)}`]) {
    assert.equal(isDigest(bad), false, bad);
    assert.equal(kind(() => checkDigest(bad)), 'invalid-argument', bad);
  }
});

test('ingest ids keep namespace and ref apart', () => {
  assert.notEqual(ingestId('a', 'bc'), ingestId('ab', 'c'));
  assert.match(ingestId('ns', '../../x'), /^[0-9a-f]{64}$/);
});

test('filters: conjunctions within, any of several, quoted label keys', () => {
  const f = (texts: string[]) => parseFilters(texts, ['digest', 'size'], 'content');
  const obj = fieldReader({ digest: d('a'), size: '3' }, { 'a.b': 'x', k: 'v' });
  assert.equal(matchesAny(obj, f([])), true);
  assert.equal(matchesAny(obj, f([`digest==${d('a')}`])), true);
  assert.equal(matchesAny(obj, f(['labels."a.b"==x,size==3'])), true);
  assert.equal(matchesAny(obj, f(['labels.k!=v'])), false);
  assert.equal(matchesAny(obj, f(['labels.none', 'labels.k'])), true);
  assert.equal(matchesAny(obj, f(['labels.none'])), false);
  assert.equal(kind(() => f(['owner==x'])), 'invalid-argument');
  assert.equal(kind(() => f([' , '])), 'invalid-argument');
});

test('labels: size limit, whole and per-field updates', () => {
  assert.equal(kind(() => checkLabels({ '': 'x' }, 'content')), 'invalid-argument');
  assert.equal(kind(() => checkLabels({ k: 'x'.repeat(5000) }, 'content')), 'invalid-argument');
  assert.deepEqual(updatedLabels({ a: '1', b: '2' }, { c: '3' }, undefined, 'x'), { c: '3' });
  assert.deepEqual(updatedLabels({ a: '1', b: '2' }, { a: '9', c: '3' }, ['labels.a', 'labels.b'], 'x'), { a: '9' });
  assert.equal(kind(() => updatedLabels({}, {}, ['digest'], 'x')), 'invalid-argument');
});

test('gc label references: content digests and snapshot keys by snapshotter', () => {
  assert.deepEqual(labelRefs({
    'berth.gc.ref.content.config': d('a'),
    'berth.gc.ref.content.l.0': d('b'),
    'berth.gc.ref.content.bad': 'not-a-digest',
    'berth.gc.ref.snapshot.overlayfs': 'sha256:chain',
    'berth.gc.ref.snapshot.native.1': 'k2',
    'berth.gc.root': '',
    other: d('c'),
  }), [
    { type: 'content', digest: d('a') },
    { type: 'content', digest: d('b') },
    { type: 'snapshot', snapshotter: 'overlayfs', key: 'sha256:chain' },
    { type: 'snapshot', snapshotter: 'native', key: 'k2' },
  ]);
});

function graph(roots: NamespaceGraph['roots'], content: Record<string, Record<string, string>>, snaps: Record<string, SnapshotNode>): NamespaceGraph {
  return { roots, content: new Map(Object.entries(content)), snapshots: new Map([['overlayfs', new Map(Object.entries(snaps))]]) };
}

test('mark follows labels from an index down to the snapshot chain, and nothing else', () => {
  const [index, manifest, config, layer, stray] = [d('1'), d('2'), d('3'), d('4'), d('5')];
  const g = graph([{ type: 'content', digest: index }], {
    [index]: { 'berth.gc.ref.content.m.0': manifest },
    [manifest]: { 'berth.gc.ref.content.config': config, 'berth.gc.ref.content.l.0': layer },
    [config]: { 'berth.gc.ref.snapshot.overlayfs': 'top' },
    [layer]: {},
    [stray]: { 'berth.gc.ref.content.x': index },
  }, {
    top: { parent: 'base', labels: {} },
    base: { parent: '', labels: {} },
    other: { parent: 'base', labels: {} },
    orphanChild: { parent: 'other', labels: {} },
  });
  const m = mark(g);
  assert.deepEqual([...m.content].sort(), [index, manifest, config, layer].sort());
  assert.deepEqual([...m.snapshots.get('overlayfs')!].sort(), ['base', 'top']);
  // children before parents: orphanChild first, then other; never base
  assert.deepEqual(unmarkedLeaf(g, m, new Set()), { snapshotter: 'overlayfs', key: 'orphanChild' });
  assert.equal(unmarkedLeaf(g, m, new Set(['overlayfs\0orphanChild'])), undefined);
});
