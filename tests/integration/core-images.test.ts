/**
 * Images through a real berth-core and Debian's docker-registry: an image
 * built here (busybox in a layer) is written to the core's content store,
 * pushed with berth-ctr, removed, collected, pulled back with berth-ctr,
 * and run as a container on its snapshot; a second image sharing the layer
 * unpacks only its own; failed pulls (404, a corrupted blob) leave no image
 * and, after gc, no blobs; rm is refused while a container uses the image.
 * Needs root, `npm run build` and docker-registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Container } from '../../src/core/api/types.js';
import { CoreClient } from '../../src/core/client.js';
import { defaultConfig } from '../helpers/bundle.js';
import { kill9, liveMatching, ready, skip as coreSkip, spawnCore, type Core } from '../helpers/core.js';
import { registrySkip, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { REPO } from '../helpers/runtime.js';

const run = promisify(execFile);
const ctrBin = join(REPO, 'bin', 'berth-ctr');
const skip = coreSkip || registrySkip;

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Built { manifest: Buffer; config: Buffer; layers: Buffer[]; diffIds: string[] }

/** A gzipped layer of the directory tree made by `fill` (tar and gzip from Debian). */
function layer(work: string, name: string, fill: (dir: string) => void): { gz: Buffer; diffId: string } {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  fill(dir);
  const tar = spawnSync('tar', ['--numeric-owner', '--sort=name', '--mtime=@0', '-C', dir, '-cf', '-', '.'], { maxBuffer: 64 << 20 });
  assert.equal(tar.status, 0, tar.stderr?.toString());
  const gz = spawnSync('gzip', ['-n', '-c'], { input: tar.stdout, maxBuffer: 64 << 20 });
  assert.equal(gz.status, 0);
  return { gz: gz.stdout, diffId: sha(tar.stdout) };
}

function image(layers: { gz: Buffer; diffId: string }[], cmd: string[]): Built {
  const config = Buffer.from(JSON.stringify({
    created: '2024-01-01T00:00:00Z', architecture: 'amd64', os: 'linux',
    config: { Cmd: cmd, Env: ['PATH=/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(l.gz), size: l.gz.length })),
  }));
  return { manifest, config, layers: layers.map((l) => l.gz), diffIds: layers.map((l) => l.diffId) };
}

const busyboxLayer = (work: string): { gz: Buffer; diffId: string } => layer(work, 'base', (dir) => {
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'busybox'), readFileSync('/bin/busybox'), { mode: 0o755 });
  for (const n of ['sh', 'test', 'cat']) spawnSync('ln', ['-s', 'busybox', join(dir, 'bin', n)]);
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc', 'marker'), 'base\n');
});

/** Writes the image's blobs into the core and names it. */
async function importImage(client: CoreClient, name: string, img: Built): Promise<void> {
  for (const blob of [img.config, ...img.layers, img.manifest]) {
    await client.writeContent(`import-${sha(blob)}`, blob, sha(blob)).catch((err: { kind?: string }) => { if (err.kind !== 'already-exists') throw err; });
  }
  await client.images.Create({ image: { name, labels: {}, createdAt: null, updatedAt: null,
    target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(img.manifest), size: String(img.manifest.length), annotations: {} } } });
}

interface Env { dir: string; address: string; client: CoreClient; registry: TestRegistry; core: Core; work: string }

async function withEnv(fn: (env: Env) => Promise<void>, mode: 'anonymous' | 'basic' = 'anonymous'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-images-it-'));
  writeFileSync(join(dir, 'config.json'), '{}');
  const address = join(dir, 'core.sock');
  const registry = await startRegistry(mode);
  let core: Core | undefined;
  let client: CoreClient | undefined;
  try {
    // the core reads registry credentials from this Docker config, not root's own
    core = await ready(spawnCore(dir, address, { DOCKER_CONFIG: join(dir, 'docker') }), address);
    client = new CoreClient(address);
    const work = join(dir, 'work');
    mkdirSync(work);
    await fn({ dir, address, client, registry, core, work });
  } finally {
    client?.close();
    if (core) await kill9(core);
    for (const p of liveMatching(dir)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    // snapshots a failed test left mounted under the temp dir
    spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`]);
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ctr = async (env: Env, ...args: string[]): Promise<string> => {
  try {
    return (await run(ctrBin, ['--address', env.address, ...args], { maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`berth-ctr ${args.join(' ')}: ${e.stderr ?? e.message}`);
  }
};

const ctrFails = async (env: Env, ...args: string[]): Promise<string> => {
  try {
    await run(ctrBin, ['--address', env.address, ...args]);
  } catch (err) {
    return (err as { stderr: string }).stderr;
  }
  throw new Error(`berth-ctr ${args.join(' ')} succeeded`);
};

const contentDigests = async (env: Env): Promise<string[]> => (await env.client.content.List({ filters: [] })).info.map((i) => i.digest);
const snapshotKeys = async (env: Env): Promise<string[]> => (await env.client.snapshots.List({ snapshotter: '', filters: [] })).info.map((i) => i.name);

test('push with berth-ctr, remove, pull back, run on the snapshot; shared layers unpack once; rm refused while used', { skip, timeout: 120_000 }, () => withEnv(async (env) => {
  const base = busyboxLayer(env.work);
  const img = image([base], ['sh']);
  const local = 'example.test/busybox:1';
  await importImage(env.client, local, img);
  const remote = `${env.registry.host}/berth/busybox:1`;
  await ctr(env, 'images', 'tag', local, remote);
  const pushed = await ctr(env, 'images', 'push', remote);
  assert.match(pushed, /done/);

  // gone locally: records and, after gc, every blob
  await ctr(env, 'images', 'rm', local);
  await ctr(env, 'images', 'rm', remote);
  await ctr(env, 'gc');
  assert.deepEqual(await contentDigests(env), []);

  const out = await ctr(env, 'images', 'pull', remote);
  assert.match(out, new RegExp(`${sha(img.manifest)}`));
  assert.match(out, /downloading|unpacking/);
  const chain = base.diffId; // one layer: the chain ID is its diff ID
  assert.deepEqual(await snapshotKeys(env), [chain]);
  const got = await contentDigests(env);
  for (const b of [img.manifest, img.config, ...img.layers]) assert.ok(got.includes(sha(b)), `blob ${sha(b)} stored`);
  // gc keeps everything the image reaches
  await ctr(env, 'gc');
  assert.equal((await contentDigests(env)).length, 3);
  assert.deepEqual(await snapshotKeys(env), [chain]);

  const inspect = JSON.parse(await ctr(env, 'images', 'inspect', remote)) as [{ Id: string; RepoTags: string[]; RepoDigests: string[]; RootFS: { Layers: string[] }; Config: { Cmd: string[] } }];
  assert.equal(inspect[0].Id, sha(img.config));
  assert.deepEqual(inspect[0].RepoTags, [remote]);
  assert.deepEqual(inspect[0].RepoDigests, [`${env.registry.host}/berth/busybox@${sha(img.manifest)}`]);
  assert.deepEqual(inspect[0].RootFS.Layers, [base.diffId]);

  // a container on a snapshot of the image runs busybox from it
  await env.client.snapshots.Prepare({ snapshotter: '', key: 'c1-rootfs', parent: chain, labels: {} });
  const spec = defaultConfig(['sh', '-c', 'test "$(cat /etc/marker)" = base && exit 7']);
  spec.root.path = 'rootfs';
  await env.client.containers.Create({ container: { id: 'c1', image: remote, spec: Buffer.from(JSON.stringify(spec)), runtime: { name: '', options: Buffer.alloc(0) },
    rootfs: '', snapshotKey: 'c1-rootfs', snapshotter: '', labels: {} } as unknown as Container });
  await env.client.tasks.Create({ containerId: 'c1' });
  await env.client.tasks.Start({ containerId: 'c1' });
  const waited = await env.client.tasks.Wait({ containerId: 'c1' });
  assert.equal(waited.exitStatus, 7);
  await env.client.tasks.Delete({ containerId: 'c1' });
  assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(join(env.dir, 'state')), 'nothing left mounted after the task is deleted');

  // rm refused while the container uses the image, then allowed once it is gone
  assert.match(await ctrFails(env, 'images', 'rm', remote), /a container uses it/);
  await env.client.containers.Delete({ id: 'c1' });
  await env.client.snapshots.Remove({ snapshotter: '', key: 'c1-rootfs' });

  // a second image over the same base: only its own layer is fetched and unpacked
  const top = layer(env.work, 'top', (dir) => { mkdirSync(join(dir, 'etc')); writeFileSync(join(dir, 'etc', 'marker'), 'top\n'); });
  const img2 = image([base, top], ['sh']);
  await importImage(env.client, 'example.test/busybox:2', img2);
  const remote2 = `${env.registry.host}/berth/other:2`;
  await ctr(env, 'images', 'tag', 'example.test/busybox:2', remote2);
  const pushed2 = await ctr(env, 'images', 'push', remote2);
  assert.match(pushed2, /mounted|exists/, 'the shared layer is mounted from berth/busybox, not uploaded again');
  await ctr(env, 'images', 'rm', 'example.test/busybox:2');
  await ctr(env, 'images', 'rm', remote2);
  await ctr(env, 'gc');
  const out2 = await ctr(env, 'images', 'pull', remote2);
  const baseShort = sha(base.gz).slice(7, 19);
  assert.match(out2, new RegExp(`${baseShort}: exists`));
  assert.doesNotMatch(out2, new RegExp(`${baseShort}: (downloading|unpacking)`));
  assert.equal((await snapshotKeys(env)).length, 2);
}));

test('failed pulls (404, a corrupted blob) leave no image and, after gc, no blobs', { skip, timeout: 60_000 }, () => withEnv(async (env) => {
  assert.match(await ctrFails(env, 'images', 'pull', `${env.registry.host}/berth/none:1`), /not found|unknown/i);
  assert.deepEqual((await env.client.images.List({ filters: [] })).images, []);

  const l = layer(env.work, 'bad', (dir) => writeFileSync(join(dir, 'file'), 'x'.repeat(100_000)));
  const img = image([l], ['sh']);
  await importImage(env.client, 'example.test/bad:1', img);
  const remote = `${env.registry.host}/berth/bad:1`;
  await ctr(env, 'images', 'tag', 'example.test/bad:1', remote);
  await ctr(env, 'images', 'push', remote);
  await ctr(env, 'images', 'rm', 'example.test/bad:1');
  await ctr(env, 'images', 'rm', remote);
  await ctr(env, 'gc');
  assert.deepEqual(await contentDigests(env), []);
  // the registry now serves other bytes of the same length for the layer
  const hex = sha(l.gz).slice(7);
  const data = join(env.registry.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
  assert.ok(existsSync(data));
  const corrupt = Buffer.from(l.gz);
  corrupt[corrupt.length - 20] ^= 0xff;
  writeFileSync(data, corrupt);
  const err = await ctrFails(env, 'images', 'pull', remote);
  assert.match(err, /digest|checksum|mismatch/i);
  assert.deepEqual((await env.client.images.List({ filters: [] })).images, []);
  await ctr(env, 'gc');
  assert.deepEqual(await contentDigests(env), []);
  assert.deepEqual(await snapshotKeys(env), []);
  assert.deepEqual((await env.client.leases.List({ filters: [] })).leases, []);
}));

test('basic auth: --user, then the credentials of the Docker config; none is permission denied', { skip, timeout: 60_000 }, () => withEnv(async (env) => {
  const img = image([layer(env.work, 'auth', (dir) => writeFileSync(join(dir, 'file'), 'auth'))], ['sh']);
  await importImage(env.client, 'example.test/auth:1', img);
  const remote = `${env.registry.host}/berth/auth:1`;
  await ctr(env, 'images', 'tag', 'example.test/auth:1', remote);
  assert.match(await ctrFails(env, 'images', 'push', remote), /authentication|credentials|denied|unauthorized/i);
  await ctr(env, 'images', 'push', '--user', `${env.registry.username}:${env.registry.password}`, remote);
  await ctr(env, 'images', 'rm', remote);
  assert.match(await ctrFails(env, 'images', 'pull', remote), /authentication|credentials|denied|unauthorized/i);
  assert.match(await ctrFails(env, 'images', 'pull', '--user', `${env.registry.username}:wrong`, remote), /denied|unauthorized|authentication/i);
  await ctr(env, 'images', 'pull', '--user', `${env.registry.username}:${env.registry.password}`, remote);
  await ctr(env, 'images', 'rm', remote);
  // docker login's file: the core finds the credentials itself
  mkdirSync(join(env.dir, 'docker'));
  writeFileSync(join(env.dir, 'docker', 'config.json'), JSON.stringify({ auths: { [env.registry.host]: { auth: Buffer.from(`${env.registry.username}:${env.registry.password}`).toString('base64') } } }));
  await ctr(env, 'images', 'pull', remote);
  assert.deepEqual((await env.client.images.List({ filters: [] })).images.map((i) => i.name).sort(), ['example.test/auth:1', remote].sort());
}, 'basic'));
