/**
 * Garbage collection over a real SQLite file, the real content store and
 * the real overlayfs snapshotter: what an image, a container, a lease or a
 * root label reaches is kept; everything else goes, snapshots children
 * first, blobs from disk once no namespace holds them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failedPrecondition } from '../../src/common/errors.js';
import { ingestId } from '../../src/core/content/paths.js';
import { openContentStore } from '../../src/core/content/store.js';
import type { ContentInfo, ContentStore } from '../../src/core/content/types.js';
import { collectGarbage, INGEST_IDLE_MS, type GcReport } from '../../src/core/gc/collect.js';
import { openLeaseManager } from '../../src/core/leases/manager.js';
import type { LeaseManager } from '../../src/core/leases/types.js';
import { openMetadataStore, type MetadataStore } from '../../src/core/metadata/store.js';
import { openSnapshotter } from '../../src/core/snapshots/index.js';
import type { Snapshotter } from '../../src/core/snapshots/types.js';

interface Env {
  root: string; meta: MetadataStore; content: ContentStore; leases: LeaseManager; snap: Snapshotter;
  gc(): Promise<GcReport>;
}

async function withEnv(fn: (e: Env) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'berth-gc-'));
  const meta = openMetadataStore(join(root, 'meta.db'));
  const content = openContentStore(meta.db, root);
  const snap = openSnapshotter(meta.db, root, 'overlayfs');
  const env: Env = {
    root, meta, content, snap, leases: openLeaseManager(meta.db),
    gc: () => collectGarbage({ db: meta.db, content, snapshotters: new Map([['overlayfs', snap]]) }),
  };
  try { await fn(env); } finally { meta.close(); rmSync(root, { recursive: true, force: true }); }
}

/** Makes an ingest look last used at `when` (its row and its data file). */
function age(e: Env, ns: string, ref: string, when: number): void {
  e.meta.db.prepare('UPDATE ingests SET updated_at = ? WHERE namespace = ? AND ref = ?').run(when, ns, ref);
  const data = join(e.root, 'content', 'ingest', ingestId(ns, ref), 'data');
  utimesSync(data, when / 1000, when / 1000);
}

const blob = (root: string, digest: string): string => join(root, 'content', 'blobs', 'sha256', digest.slice(7));
const keys = (e: Env, ns: string): string[] => e.snap.list(ns).map((s) => s.key).sort();
const digests = (e: Env, ns: string): string[] => e.content.list(ns).map((c) => c.digest).sort();

function putImage(e: Env, ns: string, name: string, target: ContentInfo): void {
  e.meta.db.prepare(`INSERT INTO images (namespace, name, target_media_type, target_digest, target_size, created_at, updated_at)
    VALUES (?, ?, 'application/vnd.oci.image.index.v1+json', ?, ?, 0, 0)`).run(ns, name, target.digest, target.size);
}

/** An image as a pull leaves it: index → manifest → config + layers, config → top snapshot of the chain. */
async function image(e: Env, ns: string, tag: string) {
  const layers = [await e.content.writeBlob(ns, Buffer.from(`layer-0-${tag}`)), await e.content.writeBlob(ns, Buffer.from(`layer-1-${tag}`))];
  await e.snap.prepare(ns, `x-${tag}-0`, '');
  writeFileSync(join(e.snap.applyTarget(ns, `x-${tag}-0`).dir, 'f'), 'x'.repeat(100));
  await e.snap.commit(ns, `chain-${tag}-0`, `x-${tag}-0`);
  await e.snap.prepare(ns, `x-${tag}-1`, `chain-${tag}-0`);
  await e.snap.commit(ns, `chain-${tag}-1`, `x-${tag}-1`);
  const config = await e.content.writeBlob(ns, Buffer.from(`config-${tag}`), undefined, { 'berth.gc.ref.snapshot.overlayfs': `chain-${tag}-1` });
  const manifest = await e.content.writeBlob(ns, Buffer.from(`manifest-${tag}`), undefined, {
    'berth.gc.ref.content.config': config.digest,
    'berth.gc.ref.content.l.0': layers[0]!.digest,
    'berth.gc.ref.content.l.1': layers[1]!.digest,
  });
  const index = await e.content.writeBlob(ns, Buffer.from(`index-${tag}`), undefined, { 'berth.gc.ref.content.m.0': manifest.digest });
  return { index, all: [index, manifest, config, ...layers].map((c) => c.digest).sort(), snapshots: [`chain-${tag}-0`, `chain-${tag}-1`] };
}

test('gc keeps what an image reaches through labels and removes the rest', () => withEnv(async (e) => {
  const img = await image(e, 'ns', 'a');
  putImage(e, 'ns', 'example.com/a:1', img.index);
  const stray = await e.content.writeBlob('ns', Buffer.from('stray bytes'));
  await e.snap.prepare('ns', 'stray-child', 'chain-a-0');
  await e.snap.commit('ns', 'stray-committed', 'stray-child');
  await e.snap.prepare('ns', 'stray-grandchild', 'stray-committed');
  await e.snap.prepare('ns', 'stray-alone', '');
  let strayUsage = 0;
  for (const k of ['stray-committed', 'stray-grandchild', 'stray-alone']) strayUsage += (await e.snap.usage('ns', k)).size;

  const r = await e.gc();
  assert.equal(r.contentRemoved, 1);
  assert.equal(r.snapshotsRemoved, 3);
  assert.equal(r.bytesFreed, stray.size + strayUsage);
  assert.deepEqual(digests(e, 'ns'), img.all);
  assert.deepEqual(keys(e, 'ns'), img.snapshots);
  assert.ok(!existsSync(blob(e.root, stray.digest)));
  for (const d of img.all) assert.ok(existsSync(blob(e.root, d)), d);

  // a second run finds nothing more
  assert.deepEqual({ ...(await e.gc()), durationMs: 0 }, { contentRemoved: 0, snapshotsRemoved: 0, bytesFreed: 0, durationMs: 0 });

  // without the image everything goes, snapshot directories and blob files included
  e.meta.db.prepare('DELETE FROM images').run();
  const r2 = await e.gc();
  assert.equal(r2.contentRemoved, 5);
  assert.equal(r2.snapshotsRemoved, 2);
  assert.ok(r2.bytesFreed >= 100, 'the snapshot usage is counted');
  assert.deepEqual(readdirSync(join(e.root, 'content', 'blobs', 'sha256')), []);
  assert.deepEqual(readdirSync(join(e.root, 'snapshots', 'overlayfs')).filter((n) => !n.startsWith('.')), []);
}));

test('a container keeps its snapshot, its parents and its image', () => withEnv(async (e) => {
  const img = await image(e, 'ns', 'c');
  putImage(e, 'ns', 'example.com/c:1', img.index);
  await e.snap.prepare('ns', 'web-rootfs', 'chain-c-1');
  e.meta.namespaces.ensure('ns');
  e.meta.containers.create({
    namespace: 'ns', id: 'web', image: 'example.com/c:1', spec: Buffer.from('{}'),
    runtime: { name: 'berth-runtime', options: Buffer.alloc(0) }, rootfs: '', snapshotKey: 'web-rootfs', snapshotter: 'overlayfs', labels: {},
  });
  // without its image record, the container holds its snapshot chain, not the blobs
  e.meta.db.prepare('DELETE FROM images').run();
  const r = await e.gc();
  assert.equal(r.snapshotsRemoved, 0);
  assert.deepEqual(keys(e, 'ns'), ['chain-c-0', 'chain-c-1', 'web-rootfs']);
  assert.equal(r.contentRemoved, 5, 'without an image record the blobs are not referenced');
  // with an image record of that name, the container keeps its blobs too, and another image's go
  const again = await image(e, 'ns', 'c2');
  putImage(e, 'ns', 'example.com/c:1', again.index);
  const other = await image(e, 'ns', 'd');
  putImage(e, 'ns', 'example.com/d:1', other.index);
  e.meta.db.prepare("DELETE FROM images WHERE name = 'example.com/d:1'").run();
  const r2 = await e.gc();
  assert.equal(r2.contentRemoved, 5);
  assert.equal(r2.snapshotsRemoved, 2);
  assert.deepEqual(digests(e, 'ns'), again.all);
  assert.deepEqual(keys(e, 'ns'), ['chain-c-0', 'chain-c-1', 'chain-c2-0', 'chain-c2-1', 'web-rootfs']);
  e.meta.containers.delete('ns', 'web');
  e.meta.db.prepare('DELETE FROM images').run();
  const r3 = await e.gc();
  assert.equal(r3.snapshotsRemoved, 5);
  assert.deepEqual(digests(e, 'ns'), []);
  assert.deepEqual(keys(e, 'ns'), []);
}));

test('leases protect content, ingests and snapshots until deleted or expired', () => withEnv(async (e) => {
  const lease = e.leases.create('ns', 'pull');
  const held = await e.content.writeBlob('ns', Buffer.from('downloaded layer'));
  e.leases.addResource('ns', 'pull', { type: 'content', id: held.digest });
  await e.snap.prepare('ns', 'extract-1', '');
  e.leases.addResource('ns', 'pull', { type: 'snapshots/overlayfs', id: 'extract-1' });
  const w = await e.content.writer('ns', 'layer-download');
  await w.write(Buffer.from('half'));
  await w.close();
  e.leases.addResource('ns', 'pull', { type: 'ingests', id: 'layer-download' });
  const idle = await e.content.writer('ns', 'forgotten');
  await idle.write(Buffer.from('old'));
  await idle.close();
  const fresh = await e.content.writer('ns', 'recent');
  await fresh.close();
  // two ingests look a day and a minute old; 'recent' was just used
  age(e, 'ns', 'layer-download', Date.now() - INGEST_IDLE_MS - 60_000);
  age(e, 'ns', 'forgotten', Date.now() - INGEST_IDLE_MS - 60_000);

  const r = await e.gc();
  assert.equal(r.contentRemoved, 0);
  assert.equal(r.snapshotsRemoved, 0);
  assert.deepEqual(e.content.listStatuses('ns').map((s) => s.ref).sort(), ['layer-download', 'recent']);

  e.leases.delete('ns', lease.id);
  const r2 = await e.gc();
  assert.equal(r2.contentRemoved, 1);
  assert.equal(r2.snapshotsRemoved, 1);
  assert.deepEqual(e.content.listStatuses('ns').map((s) => s.ref), ['recent']);

  // an expired lease protects nothing and its rows go
  const blob2 = await e.content.writeBlob('ns', Buffer.from('under an expiring lease'));
  e.leases.create('ns', 'short', {}, Date.now() + 200);
  e.leases.addResource('ns', 'short', { type: 'content', id: blob2.digest });
  assert.equal((await e.gc()).contentRemoved, 0);
  await new Promise((r) => setTimeout(r, 250));
  assert.equal((await e.gc()).contentRemoved, 1);
  assert.equal((e.meta.db.prepare('SELECT COUNT(*) AS n FROM leases').get() as { n: number }).n, 0);
  assert.equal((e.meta.db.prepare('SELECT COUNT(*) AS n FROM lease_resources').get() as { n: number }).n, 0);
}));

test('roots by label; a blob shared across namespaces stays on disk while one holds it', () => withEnv(async (e) => {
  const data = Buffer.from('shared between namespaces');
  const a = await e.content.writeBlob('ns1', data, undefined, { 'berth.gc.root': '' });
  await e.content.writeBlob('ns2', data);
  const r = await e.gc();
  assert.equal(r.contentRemoved, 1);
  assert.equal(r.bytesFreed, 0, 'the file is still held by ns1');
  assert.equal(e.content.has('ns1', a.digest), true);
  assert.equal(e.content.has('ns2', a.digest), false);
  assert.ok(existsSync(blob(e.root, a.digest)));
  e.content.update('ns1', a.digest, {});
  const r2 = await e.gc();
  assert.equal(r2.bytesFreed, data.length);
  assert.ok(!existsSync(blob(e.root, a.digest)));
}));

test('a snapshot that cannot be removed is skipped, and its parents kept', () => withEnv(async (e) => {
  await e.snap.prepare('ns', 'p', '');
  await e.snap.commit('ns', 'parent', 'p');
  await e.snap.prepare('ns', 'stuck', 'parent');
  const real = e.snap.remove.bind(e.snap);
  e.snap.remove = async (ns, key) => { if (key === 'stuck') throw failedPrecondition('cannot remove snapshot stuck: busy'); return real(ns, key); };
  const r = await e.gc();
  assert.equal(r.snapshotsRemoved, 0);
  assert.deepEqual(keys(e, 'ns'), ['parent', 'stuck']);
  e.snap.remove = real;
  assert.equal((await e.gc()).snapshotsRemoved, 2);
}));

test('a reference added while gc removes snapshots is honoured', () => withEnv(async (e) => {
  await e.snap.prepare('ns', 'a', '');
  await e.snap.prepare('ns', 'b', '');
  const real = e.snap.remove.bind(e.snap);
  e.snap.remove = async (ns, key) => {
    await real(ns, key);
    // a pull takes b under its lease between two removals
    if (key === 'a') {
      e.leases.create('ns', 'late');
      e.leases.addResource('ns', 'late', { type: 'snapshots/overlayfs', id: 'b' });
    }
  };
  assert.equal((await e.gc()).snapshotsRemoved, 1);
  assert.deepEqual(keys(e, 'ns'), ['b']);
}));
