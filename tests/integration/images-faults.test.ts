/**
 * Bad input and faults of a pull, through a real berth-core (Images.Pull on
 * the typed client, one case through berth-ctr) against Debian's
 * docker-registry, with proxies in front of it (tests/helpers/fault-proxy.ts)
 * for the network faults: a blob whose bytes were altered in the registry's
 * storage, 401, 404, 500, a registry that never answers, a connection cut
 * every time and cut once, an index for another platform only, an oversized
 * manifest, hostile layers (`..`, a symlink written through, an absolute
 * path, a hard link out). Each failure must name the image and the reason,
 * leave no image record, leave the content store consistent (every row has
 * its blob file with its size, no ingest, no pull lease), and after gc no
 * blob or snapshot of the failed pull.
 * Then, each on a core of its own: a full disk (the data root on a 32 MiB
 * tmpfs) and a core killed with SIGKILL halfway through a big layer.
 * Needs root, `npm run build`, docker-registry and htpasswd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { BerthError } from '../../src/common/errors.js';
import { CoreClient } from '../../src/core/client.js';
import { MAX_MANIFEST_BYTES, RegistryClient } from '../../src/core/distribution/registry.js';
import type { Image } from '../../src/core/api/types.js';
import { MediaType } from '../../src/core/oci/types.js';
import { registryErrorAnswer, startHttpProxy, startTcpProxy } from '../helpers/fault-proxy.js';
import { kill9, ready, skip as coreSkip, spawnCore, type Core } from '../helpers/core.js';
import { registrySkip, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { REPO } from '../helpers/runtime.js';

const run = promisify(execFile);
const skip = coreSkip || registrySkip;
/** The core's registry timeout in these tests (BERTH_REGISTRY_TIMEOUT_MS). */
const TIMEOUT_MS = 1500;

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// ---- layers: a ustar writer of its own, so hostile names reach the registry exactly as written ----

function octal(n: number, width: number): string { return `${n.toString(8).padStart(width - 1, '0')}\0`; }

function tarEntry(name: string, flag: string, mode: number, body: Buffer = Buffer.alloc(0), linkname = ''): Buffer {
  assert.ok(Buffer.byteLength(name) <= 100 && Buffer.byteLength(linkname) <= 100, `tar name too long: ${name}`);
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write(octal(mode, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(body.length, 12), 124);
  h.write(octal(0, 12), 136);
  h.fill(' ', 148, 156);
  h.write(flag, 156);
  h.write(linkname, 157, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad]);
}

const entry = {
  file: (name: string, body: Buffer): Buffer => tarEntry(name, '0', 0o644, body),
  dir: (name: string): Buffer => tarEntry(name, '5', 0o755),
  symlink: (name: string, target: string): Buffer => tarEntry(name, '2', 0o777, Buffer.alloc(0), target),
  link: (name: string, target: string): Buffer => tarEntry(name, '1', 0o644, Buffer.alloc(0), target),
};

interface Layer { bytes: Buffer; mediaType: string; diffId: string }

const tarOf = (entries: Buffer[]): Buffer => Buffer.concat([...entries, Buffer.alloc(1024)]);

function gzipLayer(entries: Buffer[]): Layer {
  const tar = tarOf(entries);
  return { bytes: gzipSync(tar), mediaType: MediaType.ociLayerGzip, diffId: sha(tar) };
}

/** An uncompressed layer of one file of random bytes (nothing to gain from gzip). */
function randomFileLayer(name: string, size: number): Layer {
  const tar = tarOf([entry.file(name, randomBytes(size))]);
  return { bytes: tar, mediaType: MediaType.ociLayer, diffId: sha(tar) };
}

interface Published { manifest: Buffer; manifestDigest: string; layers: { digest: string; bytes: Buffer }[]; chain: string[] }

/** Pushes the layers, a config listing their diff IDs and an OCI manifest tagged repo:tag. */
async function publish(pusher: RegistryClient, repo: string, tag: string, layers: Layer[], platform: { architecture: string; variant?: string } = { architecture: 'amd64' }): Promise<Published> {
  const diffIds = layers.map((l) => l.diffId);
  const config = Buffer.from(JSON.stringify({ ...platform, os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configDesc = { mediaType: MediaType.ociConfig, digest: sha(config), size: config.length };
  await pusher.pushBlob(repo, configDesc, config);
  const descs = [];
  for (const l of layers) {
    const d = { mediaType: l.mediaType, digest: sha(l.bytes), size: l.bytes.length };
    await pusher.pushBlob(repo, d, l.bytes);
    descs.push(d);
  }
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: descs }));
  await pusher.putManifest(repo, tag, MediaType.ociManifest, manifest);
  const chain: string[] = [];
  for (const d of diffIds) chain.push(chain.length === 0 ? d : sha(`${chain.at(-1)!} ${d}`));
  return { manifest, manifestDigest: sha(manifest), layers: descs.map((d, i) => ({ digest: d.digest, bytes: layers[i]!.bytes })), chain };
}

// ---- the core's state, through its API and on disk ----

async function pullFails(client: CoreClient, ref: string, onProgress?: Parameters<CoreClient['pull']>[1]): Promise<BerthError> {
  let image: Image | undefined;
  try { image = await client.pull({ ref, unpack: true }, onProgress); } catch (err) {
    assert.ok(err instanceof BerthError, String(err));
    return err;
  }
  assert.fail(`pull of ${ref} succeeded: ${image.target?.digest ?? ''}`);
}

interface StoreState { content: string[]; snapshots: string[]; snapshotDirs: string[] }

const snapshotState = async (client: CoreClient): Promise<string[]> =>
  (await client.snapshots.List({ snapshotter: '', filters: [] })).info.map((i) => i.name).sort();

/** Every snapshot directory on disk, `<snapshotter>/<backing id>`. */
function snapshotDirs(root: string): string[] {
  const base = join(root, 'snapshots');
  if (!existsSync(base)) return [];
  return readdirSync(base).flatMap((sn) => readdirSync(join(base, sn)).filter((n) => !n.startsWith('.')).map((n) => `${sn}/${n}`)).sort();
}

async function storeState(client: CoreClient, root: string): Promise<StoreState> {
  const content = (await client.content.List({ filters: [] })).info.map((i) => i.digest).sort();
  return { content, snapshots: await snapshotState(client), snapshotDirs: snapshotDirs(root) };
}

/** Every content row has its blob file with its size and every blob file a row; no ingest; no pull lease. */
async function assertConsistent(client: CoreClient, root: string): Promise<void> {
  const rows = (await client.content.List({ filters: [] })).info;
  const blobs = join(root, 'content', 'blobs', 'sha256');
  for (const r of rows) {
    const file = join(blobs, r.digest.slice(7));
    assert.ok(existsSync(file), `blob file of ${r.digest}`);
    assert.equal(statSync(file).size, Number(r.size), `size of ${r.digest}`);
  }
  assert.deepEqual(readdirSync(blobs).map((h) => `sha256:${h}`).sort(), rows.map((r) => r.digest).sort(), 'no blob file without its row');
  assert.deepEqual((await client.content.ListStatuses({ filters: [] })).statuses.map((s) => s.ref), [], 'no ingest left');
  assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), [], 'no ingest directory left');
  const pulls = (await client.leases.List({ filters: [] })).leases.filter((l) => 'berth.lease.pull' in l.labels);
  assert.deepEqual(pulls.map((l) => l.labels), [], 'no pull lease left');
}

/** After a failed pull of ref: no image, a consistent store, and after gc what was there before. */
async function assertClean(client: CoreClient, root: string, ref: string, baseline: StoreState): Promise<void> {
  const names = (await client.images.List({ filters: [] })).images.map((i) => i.name);
  assert.ok(!names.includes(ref), `no image record for ${ref}`);
  await assertConsistent(client, root);
  await client.gc.Collect({});
  assert.deepEqual(await storeState(client, root), baseline, 'after gc nothing of the failed pull is left');
  await assertConsistent(client, root);
}

describe('pull faults through berth-core', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let address: string;
  let reg: TestRegistry;
  let core: Core;
  let client: CoreClient;
  let pusher: RegistryClient;
  let baseline: StoreState;
  const root = (): string => join(dir, 'root');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-faults-'));
    writeFileSync(join(dir, 'config.json'), '{}');
    mkdirSync(join(dir, 'docker'));
    address = join(dir, 'core.sock');
    reg = await startRegistry('anonymous');
    pusher = new RegistryClient({ host: reg.host, insecure: true });
    // no credentials of the machine's own docker config, a short registry timeout
    core = await ready(spawnCore(dir, address, { DOCKER_CONFIG: join(dir, 'docker'), BERTH_REGISTRY_TIMEOUT_MS: String(TIMEOUT_MS) }), address);
    client = new CoreClient(address);
  });
  after(async () => {
    client?.close();
    pusher?.close();
    if (core) await kill9(core);
    await reg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** What the store holds before a case (after a gc, so an earlier case's failure does not leak into this one's). */
  const start = async (): Promise<void> => { await client.gc.Collect({}); baseline = await storeState(client, root()); };
  const clean = (ref: string): Promise<void> => assertClean(client, root(), ref, baseline);

  test('a blob whose bytes were altered in the registry: digest mismatch, nothing kept', async () => {
    await start();
    const img = await publish(pusher, 'berth/altered', '1', [gzipLayer([entry.file('etc/data', Buffer.alloc(200_000, 'abc'))])]);
    const layer = img.layers[0]!;
    const hex = layer.digest.slice(7);
    const data = join(reg.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const corrupt = Buffer.from(layer.bytes);
    corrupt[Math.floor(corrupt.length / 2)] ^= 0xff;
    writeFileSync(data, corrupt);
    const ref = `${reg.host}/berth/altered:1`;
    const err = await pullFails(client, ref);
    assert.equal(err.kind, 'failed-precondition', err.message);
    assert.match(err.message, new RegExp(`^cannot pull ${ref}: .*${layer.digest}.*digest mismatch`));
    await clean(ref);
  });

  test('401 from a registry with basic auth and no credentials: permission-denied naming the registry', async () => {
    await start();
    const basic = await startRegistry('basic');
    try {
      const ref = `${basic.host}/berth/private:1`;
      const err = await pullFails(client, ref);
      assert.equal(err.kind, 'permission-denied', err.message);
      assert.match(err.message, new RegExp(`^cannot pull ${ref}: .*${basic.host} requires authentication and no credentials are stored for it`));
      await clean(ref);
    } finally { await basic.stop(); }
  });

  test('404 for an unknown tag, through berth-ctr: not-found with the registry\'s words', async () => {
    await start();
    const ref = `${reg.host}/berth/none:1`;
    const err = await pullFails(client, ref);
    assert.equal(err.kind, 'not-found', err.message);
    assert.match(err.message, new RegExp(`^cannot pull ${ref}: .*manifest unknown`));
    const ctr = await run(join(REPO, 'bin', 'berth-ctr'), ['--address', address, 'images', 'pull', ref]).then(() => '', (e: { stderr: string }) => e.stderr);
    assert.match(ctr, new RegExp(`cannot pull ${ref}: .*manifest unknown`));
    await clean(ref);
  });

  test('500 for every blob: retried a bounded number of times, then unavailable with the registry\'s words', async () => {
    await start();
    await publish(pusher, 'berth/five', '1', [gzipLayer([entry.file('f', Buffer.from('five'))])]);
    const proxy = await startHttpProxy(reg.host, (method, path) => (method === 'GET' && path.includes('/blobs/')
      ? registryErrorAnswer(500, 'UNKNOWN', 'blob storage is on fire') : undefined));
    try {
      const ref = `${proxy.host}/berth/five:1`;
      const err = await pullFails(client, ref);
      assert.equal(err.kind, 'unavailable', err.message);
      assert.match(err.message, new RegExp(`^cannot pull ${ref}: .*blob storage is on fire`));
      assert.ok(proxy.answered() >= 2 && proxy.answered() <= 12, `answered ${proxy.answered()} blob requests`);
      await clean(ref);
    } finally { await proxy.stop(); }
  });

  test('a registry that accepts and never answers: unavailable within the configured timeout', async () => {
    await start();
    const proxy = await startTcpProxy(reg.host, { mode: 'hang' });
    try {
      const ref = `${proxy.host}/berth/five:1`;
      const started = Date.now();
      const err = await pullFails(client, ref);
      const took = Date.now() - started;
      assert.equal(err.kind, 'unavailable', err.message);
      assert.match(err.message, new RegExp(`^cannot pull ${ref}: .*no answer within ${TIMEOUT_MS} ms`));
      // three attempts of TIMEOUT_MS and their backoff, not forever
      assert.ok(took < 4 * TIMEOUT_MS + 2_000, `took ${took} ms`);
      await clean(ref);
    } finally { await proxy.stop(); }
  });

  test('a connection cut after 128 KiB every time: resumed, then a clean failure after bounded attempts', async () => {
    await start();
    const img = await publish(pusher, 'berth/cut', '1', [randomFileLayer('blob', 1 << 20)]);
    const proxy = await startTcpProxy(reg.host, { mode: 'cut', afterBytes: 128 << 10, times: Infinity });
    try {
      const ref = `${proxy.host}/berth/cut:1`;
      const started = Date.now();
      const err = await pullFails(client, ref);
      assert.equal(err.kind, 'unavailable', err.message);
      assert.match(err.message, new RegExp(`cannot pull ${ref}: cannot download blob ${img.layers[0]!.digest}: gave up after 4 attempts: connection lost after \\d+ of ${img.layers[0]!.bytes.length} bytes`));
      assert.ok(proxy.cuts() >= 2 && proxy.cuts() <= 8, `cut ${proxy.cuts()} times`);
      // each attempt went on from the bytes written before it
      const ranges = proxy.ranges();
      assert.ok(ranges.length >= 2 && ranges.every((r, i) => r > (ranges[i - 1] ?? 0)), `range requests from growing offsets: ${ranges.join(', ')}`);
      assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
      await clean(ref);
    } finally { await proxy.stop(); }
  });

  test('a registry that refuses connections is the pull\'s failure, not an unreachable core', async () => {
    await start();
    const down = await startTcpProxy(reg.host, { mode: 'pass' });
    const host = down.host;
    await down.stop(); // nothing listens there now
    const ref = `${host}/berth/five:1`;
    const err = await pullFails(client, ref);
    assert.equal(err.kind, 'unavailable', err.message);
    assert.match(err.message, new RegExp(`^cannot pull ${ref}: .*connection refused`));
    await clean(ref);
  });

  test('a connection cut once halfway: the pull resumes and succeeds', async () => {
    await start();
    const img = await publish(pusher, 'berth/cut1', '1', [randomFileLayer('blob', 1 << 20)]);
    const proxy = await startTcpProxy(reg.host, { mode: 'cut', afterBytes: 512 << 10, times: 1 });
    try {
      const ref = `${proxy.host}/berth/cut1:1`;
      const image = await client.pull({ ref, unpack: true });
      assert.equal(image.target?.digest, img.manifestDigest);
      assert.equal(proxy.cuts(), 1);
      const snaps = await snapshotState(client);
      assert.ok(snaps.includes(img.chain.at(-1)!), 'the layer is unpacked');
      assert.deepEqual((await client.content.ListStatuses({ filters: [] })).statuses, []);
      await client.images.Delete({ name: ref });
      await clean(ref);
    } finally { await proxy.stop(); }
  });

  test('an index with only a linux/arm64 manifest: not-found listing the available platforms', async () => {
    await start();
    const arm = await publish(pusher, 'berth/arm', 'arm', [gzipLayer([entry.file('f', Buffer.from('arm'))])], { architecture: 'arm64', variant: 'v8' });
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: MediaType.ociManifest, digest: arm.manifestDigest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }],
    }));
    await pusher.putManifest('berth/arm', '1', MediaType.ociIndex, index);
    const ref = `${reg.host}/berth/arm:1`;
    const err = await pullFails(client, ref);
    assert.equal(err.kind, 'not-found', err.message);
    assert.match(err.message, new RegExp(`^cannot pull ${ref}: no manifest for platform linux/amd64 .*\\(available: linux/arm64\\)`));
    await clean(ref);
  });

  test('a manifest over the 4 MiB limit is refused', async () => {
    await start();
    const img = await publish(pusher, 'berth/huge', '1', [gzipLayer([entry.file('f', Buffer.from('x'))])]);
    const m = JSON.parse(img.manifest.toString()) as Record<string, unknown>;
    m.annotations = { padding: 'p'.repeat(MAX_MANIFEST_BYTES) };
    const big = Buffer.from(JSON.stringify(m));
    // docker-registry itself refuses to store or serve one this big: a proxy serves it for the tag
    const proxy = await startHttpProxy(reg.host, (_method, path) => (path === '/v2/berth/huge/manifests/1'
      ? { status: 200, headers: { 'content-type': MediaType.ociManifest, 'docker-content-digest': sha(big) }, body: big } : undefined));
    try {
      const ref = `${proxy.host}/berth/huge:1`;
      const err = await pullFails(client, ref);
      assert.equal(err.kind, 'failed-precondition', err.message);
      assert.match(err.message, new RegExp(`^cannot pull ${ref}: .*manifest is ${big.length} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`));
      await clean(ref);
    } finally { await proxy.stop(); }
  });

  test('hostile layers are refused naming the entry; nothing lands outside the snapshot; no snapshot is left', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'marker'), 'untouched');
    const rel = outside.slice(1); // without the leading slash
    const up = '../'.repeat(12);
    const cases: { name: string; entries: Buffer[]; entryName: string; reason: RegExp }[] = [
      { name: 'dotdot', entries: [entry.file(`${up}${rel}/evil`, Buffer.from('x'))], entryName: `${up}${rel}/evil`, reason: /path leaves the layer/ },
      { name: 'symlink', entries: [entry.symlink('escape', outside), entry.file('escape/evil', Buffer.from('x'))], entryName: 'escape/evil', reason: /through symbolic link escape/ },
      { name: 'absolute', entries: [entry.file(`${outside}/evil`, Buffer.from('x'))], entryName: `${outside}/evil`, reason: /absolute path/ },
      { name: 'hardlink', entries: [entry.symlink('out', outside), entry.link('pw', 'out/marker')], entryName: 'pw', reason: /hard link target goes through out/ },
      { name: 'hardlink-dotdot', entries: [entry.link('pw', `${up}${rel}/marker`)], entryName: 'pw', reason: /path leaves the layer/ },
    ];
    for (const c of cases) {
      await start();
      // a harmless entry first: the snapshot has something in it when the bad one comes
      const img = await publish(pusher, `berth/hostile-${c.name}`, '1', [gzipLayer([entry.dir('etc'), entry.file('etc/ok', Buffer.from('ok')), ...c.entries])]);
      const ref = `${reg.host}/berth/hostile-${c.name}:1`;
      const err = await pullFails(client, ref);
      assert.equal(err.kind, 'invalid-argument', `${c.name}: ${err.message}`);
      const escaped = c.entryName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assert.match(err.message, new RegExp(`^cannot pull ${ref}: layer ${img.layers[0]!.digest} entry ${escaped}: `), c.name);
      assert.match(err.message, c.reason, c.name);
      assert.deepEqual(readdirSync(outside), ['marker'], `${c.name}: nothing written outside`);
      await clean(ref);
    }
  });
});

/** A core on dir (config, sockets, logs) whose data root is dir/root; killed, unmounted and removed by the caller's finally. */
async function coreOn(dir: string): Promise<{ core: Core; client: CoreClient; address: string }> {
  writeFileSync(join(dir, 'config.json'), '{}');
  mkdirSync(join(dir, 'docker'), { recursive: true });
  const address = join(dir, 'core.sock');
  const core = await ready(spawnCore(dir, address, { DOCKER_CONFIG: join(dir, 'docker'), BERTH_REGISTRY_TIMEOUT_MS: String(TIMEOUT_MS) }), address);
  return { core, client: new CoreClient(address), address };
}

describe('pull faults of the core itself', { skip, timeout: 120_000 }, () => {
  let reg: TestRegistry;
  let pusher: RegistryClient;
  before(async () => {
    reg = await startRegistry('anonymous');
    pusher = new RegistryClient({ host: reg.host, insecure: true });
  });
  after(async () => {
    pusher?.close();
    await reg?.stop();
  });

  test('a full disk (the data root on a 32 MiB tmpfs, a 40 MiB layer): no space left naming the layer; the core goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-faults-disk-'));
    const root = join(dir, 'root');
    mkdirSync(root);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=32m,mode=0700', 'tmpfs', root]);
    assert.equal(mounted.status, 0, String(mounted.stderr));
    let env: Awaited<ReturnType<typeof coreOn>> | undefined;
    try {
      env = await coreOn(dir);
      const baseline = await storeState(env.client, root);
      const big = await publish(pusher, 'berth/big', '1', [randomFileLayer('big', 40 << 20)]);
      const ref = `${reg.host}/berth/big:1`;
      const err = await pullFails(env.client, ref);
      assert.match(err.message, new RegExp(`^cannot pull ${ref}: .*${big.layers[0]!.digest}.*no space left on device`));
      await assertClean(env.client, root, ref, baseline);
      // space is back: a small image pulls and unpacks
      const small = await publish(pusher, 'berth/small', '1', [gzipLayer([entry.file('f', Buffer.from('small'))])]);
      const image = await env.client.pull({ ref: `${reg.host}/berth/small:1`, unpack: true });
      assert.equal(image.target?.digest, small.manifestDigest);
      assert.deepEqual(await snapshotState(env.client), small.chain);
      await assertConsistent(env.client, root);
    } finally {
      env?.client.close();
      if (env) await kill9(env.core);
      spawnSync('umount', ['-l', root]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the core killed halfway through a layer: after a restart no partial image, the ingest is taken over, a new pull succeeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-faults-kill-'));
    const root = join(dir, 'root');
    const img = await publish(pusher, 'berth/slow', '1', [randomFileLayer('slow', 8 << 20)]);
    const proxy = await startTcpProxy(reg.host, { mode: 'throttle', bytesPerSecond: 2 << 20 });
    let env: Awaited<ReturnType<typeof coreOn>> | undefined;
    try {
      env = await coreOn(dir);
      const ref = `${proxy.host}/berth/slow:1`;
      const first = env;
      let killed: Promise<void> | undefined;
      await pullFails(env.client, ref, (p) => {
        if (!killed && p.status === 'downloading' && Number(p.current) >= 1 << 20) killed = kill9(first.core);
      });
      assert.ok(killed, 'the core was killed during the download');
      await killed;
      first.client.close();
      const ingests = readdirSync(join(root, 'content', 'ingest'));
      assert.equal(ingests.length, 1, 'the cut download left its ingest');

      env = await coreOn(dir);
      assert.deepEqual((await env.client.images.List({ filters: [] })).images, [], 'no partial image');
      proxy.set({ mode: 'pass' });
      const image = await env.client.pull({ ref, unpack: true });
      assert.equal(image.target?.digest, img.manifestDigest);
      await assertConsistent(env.client, root);
      await env.client.gc.Collect({});
      const after = await storeState(env.client, root);
      assert.equal(after.content.length, 3, 'manifest, config and layer');
      assert.deepEqual(after.snapshots, img.chain, 'only the image\'s snapshot: the dead pull\'s extraction was collected');
      assert.equal(after.snapshotDirs.length, 1);
    } finally {
      env?.client.close();
      if (env) await kill9(env.core);
      await proxy.stop();
      spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
