/**
 * The registry client against Debian's docker-registry started by the test
 * (tests/helpers/registry.ts): a small image built here, pushed
 * (monolithic, chunked, mounted) and fetched back; an index with two
 * platforms; basic and token auth; and the faults: a 404, bytes altered in
 * the registry's storage, a connection cut halfway (resumed), a registry
 * that never answers, one that answers 500.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BerthError } from '../../src/common/errors.js';
import { openContentStore } from '../../src/core/content/store.js';
import type { ContentStore } from '../../src/core/content/types.js';
import { readCredentials, storeCredentials } from '../../src/core/distribution/credentials.js';
import { downloadBlob } from '../../src/core/distribution/download.js';
import { parsePlatform, selectManifest } from '../../src/core/distribution/platform.js';
import { parseReference } from '../../src/core/distribution/reference.js';
import { RegistryClient } from '../../src/core/distribution/registry.js';
import { RegistryError } from '../../src/core/distribution/errors.js';
import { openMetadataStore, type MetadataStore } from '../../src/core/metadata/store.js';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../../src/core/oci/types.js';
import { startTcpProxy } from '../helpers/fault-proxy.js';
import { registrySkip, startRegistry, type TestRegistry } from '../helpers/registry.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

async function drain(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function failure(p: Promise<unknown>): Promise<BerthError> {
  try { await p; } catch (err) { assert.ok(err instanceof BerthError, String(err)); return err; }
  assert.fail('expected a failure');
}

/** A gzipped tar of one file, made with tar(1). */
function tarLayer(dir: string, content: string): Buffer {
  const src = mkdtempSync(join(dir, 'layer-'));
  mkdirSync(join(src, 'etc'));
  writeFileSync(join(src, 'etc', 'hello'), content);
  const r = spawnSync('tar', ['-czf', '-', '-C', src, '.']);
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

interface Image { manifest: Buffer; manifestDesc: Descriptor; config: Buffer; layer: Buffer; blobs: [Descriptor, Buffer][] }

function buildImage(dir: string, arch = 'amd64', variant?: string): Image {
  const layer = tarLayer(dir, `hello from ${arch}\n`);
  const config = json({
    architecture: arch, os: 'linux', ...(variant ? { variant } : {}),
    config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [sha(Buffer.from('unused'))] },
  });
  const configDesc = { mediaType: MediaType.ociConfig, digest: sha(config), size: config.length };
  const layerDesc = { mediaType: MediaType.ociLayerGzip, digest: sha(layer), size: layer.length };
  const m: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [layerDesc] };
  const manifest = json(m);
  return {
    manifest, config, layer,
    manifestDesc: { mediaType: MediaType.ociManifest, digest: sha(manifest), size: manifest.length, platform: { os: 'linux', architecture: arch, ...(variant ? { variant } : {}) } },
    blobs: [[configDesc, config], [layerDesc, layer]],
  };
}

async function pushImage(c: RegistryClient, repo: string, img: Image, tag?: string): Promise<string> {
  for (const [d, b] of img.blobs) if (!(await c.blobExists(repo, d))) await c.pushBlob(repo, d, b);
  return c.putManifest(repo, tag ?? img.manifestDesc.digest, MediaType.ociManifest, img.manifest);
}

/** A content store on a temp root, as the core opens it. */
function contentEnv(dir: string): { store: ContentStore; meta: MetadataStore } {
  const root = join(dir, 'core');
  mkdirSync(root, { recursive: true });
  const meta = openMetadataStore(join(root, 'meta.db'));
  return { meta, store: openContentStore(meta.db, root) };
}

describe('registry client', { skip: registrySkip }, () => {
  let reg: TestRegistry;
  let dir: string;
  let client: RegistryClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-registry-test-'));
    reg = await startRegistry('anonymous');
    client = new RegistryClient({ host: reg.host, insecure: true, timeoutMs: 5_000 });
  });
  after(async () => {
    client?.close();
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('push a small image, resolve it by tag and digest, fetch it back identical', async () => {
    const img = buildImage(dir);
    const digest = await pushImage(client, 'berth/small', img, 'v1');
    assert.equal(digest, img.manifestDesc.digest);
    const byTag = await client.resolve(parseReference(`${reg.host}/berth/small:v1`));
    assert.equal(byTag.name, `${reg.host}/berth/small:v1`);
    assert.deepEqual(byTag.descriptor, { mediaType: MediaType.ociManifest, digest, size: img.manifest.length });
    const byDigest = await client.resolve(`${reg.host}/berth/small@${digest}`);
    assert.equal(byDigest.descriptor.digest, digest);
    const manifest = await client.fetchManifest('berth/small', byTag.descriptor);
    assert.deepEqual(manifest, img.manifest);
    const m = JSON.parse(manifest.toString()) as ImageManifest;
    assert.deepEqual(await client.fetchBlobBuffer('berth/small', m.config), img.config);
    assert.deepEqual(await drain(await client.fetchBlob('berth/small', m.layers[0]!)), img.layer);
    // a Range request from an offset gives the tail
    assert.deepEqual(await drain(await client.fetchBlob('berth/small', m.layers[0]!, 10)), img.layer.subarray(10));
  });

  test('chunked upload of a bigger blob, then a cross-repository mount', async () => {
    const chunky = new RegistryClient({ host: reg.host, insecure: true, chunkThreshold: 64 * 1024, chunkSize: 40 * 1024 });
    try {
      const blob = randomBytes(300 * 1024 + 17);
      const desc = { mediaType: MediaType.ociLayer, digest: sha(blob), size: blob.length };
      await chunky.pushBlob('berth/chunked', desc, (offset) => Readable.from([blob.subarray(offset, 100_000), blob.subarray(100_000)]));
      assert.equal(await chunky.blobExists('berth/chunked', desc), true);
      assert.deepEqual(await drain(await chunky.fetchBlob('berth/chunked', desc)), blob);
      assert.equal(await chunky.blobExists('berth/other', desc), false);
      assert.equal(await chunky.mountBlob('berth/other', desc, 'berth/chunked'), true);
      assert.equal(await chunky.blobExists('berth/other', desc), true);
    } finally { chunky.close(); }
  });

  test('an index with two platforms: the right manifest is chosen, a missing platform is named', async () => {
    const amd = buildImage(dir, 'amd64');
    const arm = buildImage(dir, 'arm64', 'v8');
    await pushImage(client, 'berth/multi', amd);
    await pushImage(client, 'berth/multi', arm);
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [amd.manifestDesc, arm.manifestDesc] };
    await client.putManifest('berth/multi', 'latest', MediaType.ociIndex, json(index));
    const ref = `${reg.host}/berth/multi`;
    const { descriptor } = await client.resolve(ref);
    assert.equal(descriptor.mediaType, MediaType.ociIndex);
    const fetched = JSON.parse((await client.fetchManifest('berth/multi', descriptor)).toString()) as ImageIndex;
    assert.equal(selectManifest(fetched, parsePlatform('linux/amd64'), ref).digest, amd.manifestDesc.digest);
    assert.equal(selectManifest(fetched, parsePlatform('linux/arm64'), ref).digest, arm.manifestDesc.digest);
    assert.equal(selectManifest(fetched, parsePlatform('linux/aarch64/v8'), ref).digest, arm.manifestDesc.digest);
    const err = await failure((async () => selectManifest(fetched, parsePlatform('linux/s390x'), ref))());
    assert.equal(err.kind, 'not-found');
    assert.equal(err.message, `no manifest for platform linux/s390x in ${ref} (available: linux/amd64, linux/arm64)`);
  });

  test('a manifest that does not exist is not-found with the registry\'s words', async () => {
    const err = await failure(client.resolve(`${reg.host}/berth/nothing:1`));
    assert.equal(err.kind, 'not-found');
    assert.ok(err instanceof RegistryError);
    assert.match(err.code, /MANIFEST_UNKNOWN|NAME_UNKNOWN/);
    assert.match(err.message, new RegExp(`^cannot resolve ${reg.host}/berth/nothing:1: .*unknown`));
  });

  test('bytes altered in the registry: the manifest fetch and the blob commit refuse them, nothing is kept', async () => {
    const img = buildImage(dir, 'amd64');
    const layer = randomBytes(64 * 1024);
    const layerDesc = { mediaType: MediaType.ociLayer, digest: sha(layer), size: layer.length };
    await client.pushBlob('berth/altered', layerDesc, layer);
    await pushImage(client, 'berth/altered', img, 'v1');
    const blobData = (d: string): string => join(reg.storage, 'docker/registry/v2/blobs/sha256', d.slice(7, 9), d.slice(7), 'data');
    const corrupt = Buffer.from(layer); corrupt[100] ^= 0xff;
    writeFileSync(blobData(layerDesc.digest), corrupt);
    // same size, still valid JSON (the registry parses what it serves), other bytes: one hex digit of the config digest
    const m = Buffer.from(img.manifest);
    const at = m.indexOf('sha256:') + 7;
    m[at] = m[at] === 0x30 ? 0x31 : 0x30;
    writeFileSync(blobData(img.manifestDesc.digest), m);

    const merr = await failure(client.fetchManifest('berth/altered', img.manifestDesc));
    assert.equal(merr.kind, 'failed-precondition');
    assert.match(merr.message, /digest mismatch/);

    const env = contentEnv(dir);
    try {
      const writer = await env.store.writer('default', 'altered-layer', { expected: layerDesc.digest, total: layerDesc.size });
      const err = await failure(downloadBlob(client, 'berth/altered', layerDesc, writer));
      assert.equal(err.kind, 'failed-precondition');
      assert.equal(env.store.has('default', layerDesc.digest), false);
      assert.deepEqual(env.store.listStatuses('default'), []);
    } finally { env.meta.close(); }
  });

  test('a connection cut halfway through a blob is resumed with a Range request and verified', async () => {
    const blob = randomBytes(1024 * 1024);
    const desc = { mediaType: MediaType.ociLayer, digest: sha(blob), size: blob.length };
    await client.pushBlob('berth/cut', desc, blob);
    const proxy = await startTcpProxy(reg.host, { mode: 'cut', afterBytes: 300 * 1024, times: 1 });
    const via = new RegistryClient({ host: proxy.host, insecure: true, timeoutMs: 5_000 });
    const env = contentEnv(dir);
    try {
      const writer = await env.store.writer('default', 'cut-layer', { expected: desc.digest, total: desc.size });
      const progress: number[] = [];
      const info = await downloadBlob(via, 'berth/cut', desc, writer, { backoffMs: 10, onProgress: (n) => progress.push(n) });
      assert.equal(proxy.cuts(), 1);
      assert.equal(info.digest, desc.digest);
      assert.deepEqual(await env.store.readBlob('default', desc.digest), blob);
      // resumed, not restarted: the bytes written never went back to 0
      assert.ok(progress.every((n, i) => i === 0 || n > progress[i - 1]!), 'progress only grows');
      assert.ok(proxy.connections() >= 2);
    } finally { via.close(); env.meta.close(); await proxy.stop(); }
  });

  test('a registry that never answers times out with a clear message', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => { sockets.add(s); s.on('error', () => undefined); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const c = new RegistryClient({ host, insecure: true, timeoutMs: 300, attempts: 2, backoffMs: 10 });
    try {
      const started = Date.now();
      const err = await failure(c.resolve(`${host}/berth/x:1`));
      assert.equal(err.kind, 'unavailable');
      assert.match(err.message, new RegExp(`^cannot resolve ${host}/berth/x:1: .*no answer within 300 ms`));
      assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`); // two attempts of 300 ms, no fallback to http on a timeout
    } finally {
      c.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  test('a registry answering 500 is retried, then unavailable with its message', async () => {
    let hits = 0;
    const server = createHttpServer((req, res) => {
      hits++;
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'storage is on fire' }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const c = new RegistryClient({ host, insecure: true, attempts: 3, backoffMs: 10 });
    try {
      const err = await failure(c.fetchManifest('berth/x', { mediaType: MediaType.ociManifest, digest: sha(Buffer.from('x')), size: 1 }));
      assert.equal(err.kind, 'unavailable');
      assert.match(err.message, new RegExp(`${host} failed: storage is on fire`));
      assert.equal(hits, 3);
    } finally {
      c.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('registry client with basic auth', { skip: registrySkip }, () => {
  let reg: TestRegistry;
  let dir: string;
  before(async () => { dir = mkdtempSync(join(tmpdir(), 'berth-registry-basic-')); reg = await startRegistry('basic'); });
  after(async () => { await reg?.stop(); rmSync(dir, { recursive: true, force: true }); });

  test('good credentials from config.json push and pull', async () => {
    const config = join(dir, 'docker', 'config.json');
    storeCredentials(reg.host, { username: reg.username, password: reg.password }, config);
    assert.deepEqual(readCredentials(reg.host, config), { username: reg.username, password: reg.password });
    const ref = parseReference(`${reg.host}/berth/private:1`);
    const c = RegistryClient.forReference(ref, { credentials: (d) => readCredentials(d, config) });
    try {
      const img = buildImage(dir);
      await pushImage(c, 'berth/private', img, '1');
      assert.equal((await c.resolve(ref)).descriptor.digest, img.manifestDesc.digest);
    } finally { c.close(); }
  });

  test('bad or missing credentials: permission-denied naming the registry', async () => {
    for (const credentials of [{ username: reg.username, password: 'wrong' }, undefined]) {
      const c = new RegistryClient({ host: reg.host, insecure: true, credentials });
      try {
        const err = await failure(c.resolve(`${reg.host}/berth/private:1`));
        assert.equal(err.kind, 'permission-denied');
        assert.ok(err.message.includes(reg.host), err.message);
      } finally { c.close(); }
    }
  });
});

describe('registry client with token auth', { skip: registrySkip }, () => {
  let reg: TestRegistry;
  let dir: string;
  before(async () => { dir = mkdtempSync(join(tmpdir(), 'berth-registry-token-')); reg = await startRegistry('token'); });
  after(async () => { await reg?.stop(); rmSync(dir, { recursive: true, force: true }); });

  test('bearer tokens from the realm for the scopes asked, cached', async () => {
    const c = new RegistryClient({ host: reg.host, insecure: true, credentials: { username: reg.username, password: reg.password } });
    try {
      const img = buildImage(dir);
      await pushImage(c, 'berth/tokened', img, 'v1');
      const { descriptor } = await c.resolve(`${reg.host}/berth/tokened:v1`);
      assert.deepEqual(await c.fetchManifest('berth/tokened', descriptor), img.manifest);
      assert.ok(reg.token!.scopes().includes('repository:berth/tokened:pull,push'));
      assert.ok(reg.token!.scopes().includes('repository:berth/tokened:pull'));
      // one token per scope set, not one per request
      assert.ok(reg.token!.issued() <= 3, `issued ${reg.token!.issued()} tokens`);
    } finally { c.close(); }
  });

  test('wrong password at the token server, and anonymous access: permission-denied', async () => {
    const bad = new RegistryClient({ host: reg.host, insecure: true, credentials: { username: reg.username, password: 'nope' } });
    const anon = new RegistryClient({ host: reg.host, insecure: true });
    try {
      const e1 = await failure(bad.resolve(`${reg.host}/berth/tokened:v1`));
      assert.equal(e1.kind, 'permission-denied');
      assert.match(e1.message, /token server .* refused the credentials of berth/);
      const e2 = await failure(anon.resolve(`${reg.host}/berth/tokened:v1`));
      assert.equal(e2.kind, 'permission-denied');
      assert.ok(e2.message.includes(reg.host), e2.message);
    } finally { bad.close(); anon.close(); }
  });
});
