/**
 * Image sizes as dockerd 20.10 shows them: the same images in a private
 * Debian dockerd (overlay2) and in berthd, compared through the docker CLI
 * and the Engine API, byte for byte: inspect's Size, /images/json's Size,
 * `docker images` SIZE, `docker history` per layer (0B for an empty layer,
 * exact with --human=false) and /system/df (LayersSize, each image's Size
 * and SharedSize), /images/json?shared-size=1, and image prune's
 * SpaceReclaimed (the layers it removed, not the images' sizes). berthd gets the images by every path that unpacks:
 * import (busybox, the Debian nginx fixture), pull (a two-layer image dockerd
 * committed and pushed, gzip layers), load (another one, dockerd's save).
 * Then an older data root: the core's layer_sizes table dropped and its
 * schema set back, berthd and its core restarted: the sizes come back the
 * same, measured again from the stored blobs, and are recorded again.
 * Needs root, `npm run build`, docker-registry, dockerd, mmdebstrap (nginx).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  DOCKER, busyboxTar, call, corePids, docker, layout, ready, skipBerthd, spawnBerthd, stop, teardownBerthd, type Berthd, type Layout,
} from '../helpers/berthd.js';
import { CONTAINERD, DOCKERD, Engines } from '../helpers/engines.js';
import { nginxRootfsTar, nginxSkip } from '../helpers/nginx-image.js';
import { registrySkip, startRegistry, type TestRegistry } from '../helpers/registry.js';

const skip = skipBerthd || registrySkip || (!existsSync(DOCKERD) || !existsSync(CONTAINERD) ? 'needs dockerd and containerd' : false);

let dir: string;
let work: string;
let l: Layout;
let b: Berthd;
let e: Engines;
let reg: TestRegistry;

/** The images both daemons hold, by the names each knows them by: [dockerd's, berthd's]. */
const held: Array<[string, string]> = [];

function ok(sock: string, args: string[]): string {
  const r = docker(sock, args);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** What users see of an image's size, through the CLI and the API. */
async function figures(sock: string, ref: string): Promise<Record<string, string>> {
  const list = JSON.parse((await call(sock, 'GET', `/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: [ref] }))}`)).body) as Array<{ Size: number; VirtualSize?: number }>;
  return {
    inspect: ok(sock, ['image', 'inspect', '-f', '{{.Size}}', ref]).trim(),
    list: list.map((i) => `${i.Size}`).join(','),
    images: ok(sock, ['images', '--format', '{{.Size}}', ref]).trim(),
    history: ok(sock, ['history', '--format', '{{.Size}}', ref]).trim(),
    historyBytes: ok(sock, ['history', '--human=false', '--format', '{{.Size}}', ref]).trim(),
  };
}

async function same(dockerRef: string, berthRef: string): Promise<Record<string, string>> {
  const want = await figures(e.dockerSock, dockerRef);
  const got = await figures(b.sock, berthRef);
  assert.deepEqual(got, want, `berthd's sizes of ${berthRef} are dockerd's of ${dockerRef}`);
  return want;
}

/** A directory to `docker cp` into a created container: a file of n bytes and a symbolic link. */
function extra(name: string, n: number): string {
  const d = join(work, name);
  mkdirSync(d);
  writeFileSync(join(d, 'payload'), Buffer.alloc(n, 7));
  symlinkSync('payload-target-of-27-bytes!', join(d, 'link'));
  return d;
}

/** A second layer committed on dockerd over sizes/bb:1 (not started: a created container's copy is the whole change). */
function dockerCommit(name: string, bytes: number, tag: string): void {
  e.dockerOk(['create', '--name', name, 'sizes/bb:1', 'sh']);
  e.dockerOk(['cp', extra(name, bytes), `${name}:/extra`]);
  e.dockerOk(['commit', '-c', 'ENV SIZES=1', name, tag]);
  e.dockerOk(['rm', name]);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-h67-'));
  work = mkdtempSync(join(tmpdir(), 'berth-h67-work-'));
  l = layout(dir);
  reg = await startRegistry('anonymous');
  e = await Engines.start({ runtimes: {}, dockerd: true });
  b = await ready(spawnBerthd(l));
});

after(async () => {
  if (skip) return;
  const left = await teardownBerthd(b, l, dir);
  await e.stop();
  await reg.stop();
  rmSync(work, { recursive: true, force: true });
  assert.deepEqual(left, []);
});

test('busybox imported, a committed layer pulled, another loaded: dockerd\'s sizes, layer by layer', { skip, timeout: 120_000 }, async () => {
  const tar = busyboxTar(work, { '/etc/motd': 'sizes\n' });
  e.dockerOk(['import', '-c', 'CMD ["sh"]', tar, 'sizes/bb:1']);
  ok(b.sock, ['import', '-c', 'CMD ["sh"]', tar, 'sizes/bb:1']);
  held.push(['sizes/bb:1', 'sizes/bb:1']);
  const base = await same('sizes/bb:1', 'sizes/bb:1');
  // the unpacked size, not the tar's: busybox plus 4 bytes per applet link ("busybox" is 7, the tar adds headers)
  assert.ok(Number(base.inspect) > 0 && Number(base.inspect) < statSync(tar).size, `${base.inspect} is under the tar's size`);

  // pull: dockerd pushes a commit on top (gzip layers), berthd pulls it
  dockerCommit('c2', 12_345, 'sizes/bb:2');
  const remote = `${reg.host}/sizes/bb:2`;
  e.dockerOk(['tag', 'sizes/bb:2', remote]);
  e.dockerOk(['push', remote]);
  ok(b.sock, ['pull', remote]);
  held.push([remote, remote]);
  const pulled = await same(remote, remote);
  assert.equal(pulled.historyBytes.split('\n')[0], String(12_345 + 'payload-target-of-27-bytes!'.length), 'the top layer: the file and the link\'s target');

  // load: dockerd's save of another commit, and a commit of no change over it (an empty layer)
  dockerCommit('c3', 54_321, 'sizes/bb:3');
  e.dockerOk(['create', '--name', 'c4', 'sizes/bb:3', 'sh']);
  e.dockerOk(['commit', '-c', 'LABEL empty=1', 'c4', 'sizes/bb:3']);
  e.dockerOk(['rm', 'c4']);
  const archive = join(work, 'bb3.tar');
  e.dockerOk(['save', '-o', archive, 'sizes/bb:3']);
  ok(b.sock, ['load', '-i', archive]);
  held.push(['sizes/bb:3', 'sizes/bb:3']);
  const loaded = await same('sizes/bb:3', 'sizes/bb:3');
  assert.deepEqual(loaded.history.split('\n').slice(0, 2), ['0B', '54.3kB'], 'the empty layer is 0B, the copy below it its bytes');
});

test('the Debian nginx image imported into both: the same sizes', { skip: skip || nginxSkip, timeout: 240_000 }, async () => {
  const tar = nginxRootfsTar();
  e.dockerOk(['import', tar, 'sizes/nginx:1'], { timeoutMs: 180_000 });
  const r = spawnSync(DOCKER, ['-H', `unix://${b.sock}`, 'import', tar, 'sizes/nginx:1'], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  held.push(['sizes/nginx:1', 'sizes/nginx:1']);
  await same('sizes/nginx:1', 'sizes/nginx:1');
});

/** /system/df's image figures, in an order both daemons share (sizes, not IDs: imports differ in their created time). */
async function df(sock: string): Promise<{ layers: number; images: string[] }> {
  const d = JSON.parse((await call(sock, 'GET', '/system/df')).body) as { LayersSize: number; Images: Array<{ Size: number; SharedSize: number }> };
  return { layers: d.LayersSize, images: d.Images.map((i) => `${i.Size}/${i.SharedSize}`).sort() };
}

test('system df: LayersSize and each image\'s Size and SharedSize as dockerd\'s', { skip, timeout: 60_000 }, async () => {
  assert.ok(held.length >= 3, 'the images of the first test are there');
  const want = await df(e.dockerSock);
  assert.ok(want.images.some((x) => !x.endsWith('/0')), `dockerd shares the busybox layer: ${want.images.join(' ')}`);
  assert.deepEqual(await df(b.sock), want);
});

test('a data root from before the sizes were kept: measured again from the blobs, the same figures, recorded', { skip, timeout: 120_000 }, async () => {
  assert.ok(held.length >= 3, 'the images of the first test are there');
  const before = new Map<string, Record<string, string>>();
  for (const [, ref] of held) before.set(ref, await figures(b.sock, ref));
  await stop(b);
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  const dbPath = join(l.dataRoot, 'core', 'meta.db');
  const db = new Database(dbPath);
  const diffIds = (db.prepare('SELECT diff_id FROM layer_sizes').all() as Array<{ diff_id: string }>).map((x) => x.diff_id);
  assert.ok(diffIds.length >= 4, `unpacking recorded the layers: ${diffIds.length}`);
  // schema 6: as a core before this table left it
  db.exec('DROP TABLE layer_sizes; UPDATE schema_version SET version = 6;');
  db.close();
  b = await ready(spawnBerthd(l));
  for (const [, ref] of held) assert.deepEqual(await figures(b.sock, ref), before.get(ref), `${ref} after the upgrade`);
  const again = new Database(dbPath, { readonly: true });
  try {
    const rows = again.prepare('SELECT diff_id, unpacked_size FROM layer_sizes').all() as Array<{ diff_id: string; unpacked_size: number }>;
    assert.deepEqual(rows.map((x) => x.diff_id).sort(), [...diffIds].sort(), 'every layer measured again and recorded');
  } finally { again.close(); }
});

/** Size/SharedSize/Containers of each image, in an order both daemons share. */
function sizeRows(rows: Array<{ Size: number; SharedSize: number; Containers: number }>): string[] {
  return rows.map((i) => `${i.Size}/${i.SharedSize}/${i.Containers}`).sort();
}

// dockerd 20.10 (API 1.41) ignores shared-size (it came with 1.42) but computes the same figures, by the
// same code, for /system/df's images: berthd's list (API 1.42+) must give those
test('/images/json?shared-size=1: each image\'s SharedSize and Containers as dockerd\'s /system/df', { skip, timeout: 60_000 }, async () => {
  assert.ok(held.length >= 3, 'the images of the first test are there');
  const want = sizeRows((JSON.parse((await call(e.dockerSock, 'GET', '/system/df')).body) as { Images: Parameters<typeof sizeRows>[0] }).Images);
  assert.ok(want.some((x) => x.split('/')[1] !== '0'), `dockerd shares the busybox layer: ${want.join(' ')}`);
  const got = await call(b.sock, 'GET', '/v1.42/images/json?shared-size=1');
  assert.equal(got.status, 200, got.body);
  assert.deepEqual(sizeRows(JSON.parse(got.body) as Parameters<typeof sizeRows>[0]), want);
});

test('image prune of an image on a shared base: SpaceReclaimed is its own layer only, as dockerd\'s', { skip, timeout: 120_000 }, async () => {
  assert.ok(held.length >= 1, 'sizes/bb:1 is there');
  e.dockerOk(['create', '--name', 'c5', 'sizes/bb:1', 'sh']);
  e.dockerOk(['cp', extra('c5', 22_222), 'c5:/extra']);
  e.dockerOk(['commit', '-c', 'LABEL prune=1', 'c5', 'sizes/prune:1']);
  e.dockerOk(['rm', 'c5']);
  const archive = join(work, 'prune.tar');
  e.dockerOk(['save', '-o', archive, 'sizes/prune:1']);
  ok(b.sock, ['load', '-i', archive]);
  const filters = encodeURIComponent(JSON.stringify({ label: ['prune=1'], dangling: ['false'] }));
  const prune = async (sock: string): Promise<number> => {
    const r = await call(sock, 'POST', `/images/prune?filters=${filters}`);
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as { SpaceReclaimed: number }).SpaceReclaimed;
  };
  const want = await prune(e.dockerSock);
  assert.equal(want, 22_222 + 'payload-target-of-27-bytes!'.length, 'dockerd reclaims the copied layer only, busybox stays with sizes/bb:1');
  assert.equal(await prune(b.sock), want);
  assert.equal(docker(b.sock, ['image', 'inspect', 'sizes/prune:1']).status, 1, 'the image is gone from berthd');
  ok(b.sock, ['image', 'inspect', 'sizes/bb:1']);
});
