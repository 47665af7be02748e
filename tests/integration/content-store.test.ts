/**
 * The content store on a real SQLite file and real files in a temp root:
 * verified writes, mismatches that leave nothing, resume (after close and
 * after a reopen), ref locks, blobs shared across namespaces, labels,
 * filters, readers from an offset, and crash leftovers removed at open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../../src/common/errors.js';
import { openContentStore } from '../../src/core/content/store.js';
import type { ContentStore } from '../../src/core/content/types.js';
import { openMetadataStore, type MetadataStore } from '../../src/core/metadata/store.js';

interface Env { root: string; meta: MetadataStore; store: ContentStore; reopen(): ContentStore }

async function withEnv(fn: (e: Env) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'berth-content-'));
  let meta = openMetadataStore(join(root, 'meta.db'));
  const env: Env = {
    root, meta, store: openContentStore(meta.db, root),
    reopen: () => {
      meta.close();
      meta = openMetadataStore(join(root, 'meta.db'));
      env.meta = meta;
      env.store = openContentStore(meta.db, root);
      return env.store;
    },
  };
  try { await fn(env); } finally { meta.close(); rmSync(root, { recursive: true, force: true }); }
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blobFile = (root: string, digest: string): string => join(root, 'content', 'blobs', 'sha256', digest.slice(7));
const ingestDirs = (root: string): string[] => readdirSync(join(root, 'content', 'ingest'));
const rows = (e: Env, table: string): number => (e.meta.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

async function kindOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try { await (typeof p === 'function' ? p() : p); } catch (err) { assert.ok(err instanceof BerthError, String(err)); return err.kind; }
  return 'no error';
}

async function drain(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const data = Buffer.from('hello, berth content store\n'.repeat(1000));
const digest = sha(data);

test('write in chunks, commit, read back whole and from an offset', () => withEnv(async (e) => {
  const w = await e.store.writer('ns1', 'ref-a', { expected: digest, total: data.length });
  assert.equal(w.offset, 0);
  for (let i = 0; i < data.length; i += 4096) await w.write(data.subarray(i, i + 4096));
  const info = await w.commit(data.length, digest, { a: '1' });
  assert.equal(info.digest, digest);
  assert.equal(info.size, data.length);
  assert.deepEqual(e.store.info('ns1', digest).labels, { a: '1' });
  assert.equal(statSync(blobFile(e.root, digest)).size, data.length);
  assert.deepEqual(ingestDirs(e.root), []);
  assert.equal(rows(e, 'ingests'), 0);
  assert.deepEqual(await e.store.readBlob('ns1', digest), data);
  assert.deepEqual(await drain(e.store.reader('ns1', digest, 100)), data.subarray(100));
  assert.equal(await kindOf(() => e.store.reader('ns1', digest, data.length + 1)), 'invalid-argument');
  assert.equal(await kindOf(e.store.writer('ns1', 'ref-b', { expected: digest })), 'already-exists');
  assert.equal(await kindOf(async () => e.store.info('ns2', digest)), 'not-found');
}));

test('a digest or size mismatch leaves no ingest, no blob, no row', () => withEnv(async (e) => {
  const wrong = sha(Buffer.from('something else'));
  const w = await e.store.writer('ns1', 'bad', {});
  await w.write(data);
  await assert.rejects(w.commit(data.length, wrong), (err: BerthError) =>
    err.kind === 'failed-precondition' && err.message.includes(`expected ${wrong}, got ${digest}`));
  const w2 = await e.store.writer('ns1', 'bad2', { expected: digest });
  await w2.write(data.subarray(1));
  await assert.rejects(w2.commit(data.length, digest), (err: BerthError) =>
    err.kind === 'failed-precondition' && err.message.includes(`expected ${data.length} bytes, got ${data.length - 1}`));
  const w3 = await e.store.writer('ns1', 'bad3', { total: 10 });
  await assert.rejects(w3.write(data), (err: BerthError) => err.kind === 'failed-precondition');
  assert.deepEqual(ingestDirs(e.root), []);
  assert.deepEqual(readdirSync(join(e.root, 'content', 'blobs', 'sha256')), []);
  assert.equal(rows(e, 'ingests'), 0);
  assert.equal(rows(e, 'content'), 0);
  assert.equal(await kindOf(e.store.writeBlob('ns1', data, wrong)), 'failed-precondition');
  assert.equal(rows(e, 'content'), 0);
}));

test('digests and refs are validated', () => withEnv(async (e) => {
  for (const bad of ['sha256:abc', 'sha512:' + 'a'.repeat(128), 'sha256:' + 'A'.repeat(64), '../../etc/passwd', '']) {
    assert.equal(await kindOf(() => e.store.info('ns1', bad)), 'invalid-argument', bad);
    assert.equal(await kindOf(e.store.writer('ns1', 'r', { expected: bad || 'x' })), 'invalid-argument', bad);
  }
  assert.equal(await kindOf(e.store.writer('ns1', '')), 'invalid-argument');
  const w = await e.store.writer('ns1', 'r');
  assert.equal(await kindOf(w.commit(0, 'sha256:nope')), 'invalid-argument');
  await w.close();
}));

test('resume after close and after a reopen re-hashes the prefix', () => withEnv(async (e) => {
  let w = await e.store.writer('ns1', 'resume', { expected: digest, total: data.length });
  await w.write(data.subarray(0, 1000));
  await w.close();
  assert.equal(e.store.status('ns1', 'resume').offset, 1000);
  assert.equal(e.store.status('ns1', 'resume').expected, digest);
  w = await e.store.writer('ns1', 'resume');
  assert.equal(w.offset, 1000);
  await w.write(data.subarray(1000, 5000));
  await w.close();
  const store = e.reopen();
  assert.deepEqual(store.listStatuses('ns1').map((s) => [s.ref, s.offset, s.total]), [['resume', 5000, data.length]]);
  assert.equal(await kindOf(store.writer('ns1', 'resume', { expected: sha(Buffer.from('x')) })), 'failed-precondition');
  w = await store.writer('ns1', 'resume', { expected: digest });
  assert.equal(w.offset, 5000);
  await w.write(data.subarray(5000));
  assert.equal((await w.commit(data.length, digest)).size, data.length);
  assert.deepEqual(await store.readBlob('ns1', digest), data);
}));

test('a second writer of the same ref is refused while the first is open', () => withEnv(async (e) => {
  const w = await e.store.writer('ns1', 'busy');
  await assert.rejects(e.store.writer('ns1', 'busy'), (err: BerthError) => err.kind === 'unavailable' && /ref busy locked/.test(err.message));
  assert.equal(await kindOf(() => e.store.abort('ns1', 'busy')), 'unavailable');
  // the same ref in another namespace is another ingest
  const other = await e.store.writer('ns2', 'busy');
  await other.close();
  await w.write(data);
  await w.commit(data.length, digest);
  const again = await e.store.writer('ns1', 'busy');
  await again.close();
  e.store.abort('ns1', 'busy');
  assert.equal(await kindOf(() => e.store.status('ns1', 'busy')), 'not-found');
}));

test('namespaces share one blob file; it goes when the last holder deletes it', () => withEnv(async (e) => {
  await e.store.writeBlob('ns1', data, digest);
  const before = statSync(blobFile(e.root, digest)).ino;
  const w = await e.store.writer('ns2', 'copy', { expected: digest });
  await w.write(data);
  await w.commit(data.length, digest);
  assert.equal(statSync(blobFile(e.root, digest)).ino, before, 'no second copy');
  assert.equal(e.store.has('ns2', digest), true);
  e.store.delete('ns1', digest);
  assert.equal(e.store.has('ns1', digest), false);
  assert.ok(existsSync(blobFile(e.root, digest)));
  assert.deepEqual(await e.store.readBlob('ns2', digest), data);
  e.store.delete('ns2', digest);
  assert.ok(!existsSync(blobFile(e.root, digest)));
  assert.equal(await kindOf(() => e.store.delete('ns2', digest)), 'not-found');
}));

test('labels, updates and list filters', () => withEnv(async (e) => {
  const a = await e.store.writeBlob('ns1', Buffer.from('a'), undefined, { kind: 'x', 'berth.gc.root': '' });
  const b = await e.store.writeBlob('ns1', Buffer.from('bb'), undefined, { kind: 'y' });
  await e.store.writeBlob('ns2', Buffer.from('a'));
  const list = (f?: string[]): string[] => e.store.list('ns1', f).map((c) => c.digest).sort();
  assert.deepEqual(list(), [a.digest, b.digest].sort());
  assert.deepEqual(list([`digest==${a.digest}`]), [a.digest]);
  assert.deepEqual(list(['labels.kind==y']), [b.digest]);
  assert.deepEqual(list(['labels."berth.gc.root"']), [a.digest]);
  assert.deepEqual(list(['labels.kind!=x']), [b.digest]);
  assert.deepEqual(list(['labels.kind==x', 'size==2']), [a.digest, b.digest].sort());
  assert.deepEqual(list(['labels.kind==x,size==2']), []);
  assert.equal(await kindOf(() => e.store.list('ns1', ['owner==me'])), 'invalid-argument');
  assert.deepEqual(e.store.update('ns1', a.digest, { kind: 'z', new: '1' }, ['labels.kind']).labels, { kind: 'z', 'berth.gc.root': '' });
  assert.deepEqual(e.store.update('ns1', a.digest, {}, ['labels.berth.gc.root']).labels, { kind: 'z' });
  assert.deepEqual(e.store.update('ns1', a.digest, { only: '1' }).labels, { only: '1' });
  assert.equal(await kindOf(() => e.store.update('ns1', a.digest, {}, ['size'])), 'invalid-argument');
  assert.deepEqual(e.store.info('ns2', a.digest).labels, {}, 'labels are per namespace');
  // writeBlob of held content adds its labels
  assert.deepEqual((await e.store.writeBlob('ns1', Buffer.from('bb'), undefined, { more: '1' })).labels, { kind: 'y', more: '1' });
}));

test('open removes a crash\'s leftovers: ingest dirs and blobs without rows', () => withEnv(async (e) => {
  const w = await e.store.writer('ns1', 'kept');
  await w.write(Buffer.from('partial'));
  await w.close();
  const stray = join(e.root, 'content', 'ingest', 'f'.repeat(64));
  mkdirSync(stray);
  writeFileSync(join(stray, 'data'), 'x');
  const orphan = sha(Buffer.from('orphan'));
  writeFileSync(blobFile(e.root, orphan), 'orphan');
  const store = e.reopen();
  assert.ok(!existsSync(stray));
  assert.ok(!existsSync(blobFile(e.root, orphan)));
  assert.equal(store.status('ns1', 'kept').offset, 'partial'.length);
}));
