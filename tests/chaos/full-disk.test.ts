/**
 * A full disk under berthd: its data root on a 64 MiB loop-mounted ext4,
 * its exec root on a tmpfs of its own. A pull larger than the space fails
 * with a clear error and leaves its space free again; a container logging
 * fast fills the disk and keeps running, the log fault shown in its state
 * and events, `docker logs` still answering; a create on the full disk
 * fails clearly and leaves nothing half-made; once space is freed, pull,
 * create, run and logs all work again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, dockerOk, layout, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';
import { berthCgroups, busyboxTar, corePid, mountsUnder, shimPids, sleep } from '../helpers/chaos.js';
import { registrySkip, startRegistry, type TestRegistry } from '../helpers/registry.js';

const SKOPEO = '/usr/bin/skopeo';
const skip = skipBerthd || registrySkip || (spawnSync(SKOPEO, ['--version']).status !== 0 ? 'needs skopeo' : false);

let dir = '';
let l: Layout;
let b: Berthd;
let reg: TestRegistry;
let bigRef = '';
let smallRef = '';
let noisy: { id: string; since: number } | undefined;

const ok = (args: string[]): string => dockerOk(b.sock, args);

function fails(args: string[]): string {
  const r = docker(b.sock, args);
  assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr;
}

const free = (): number => { const s = statfsSync(l.dataRoot); return s.bavail * s.bsize; };
const MiB = 1024 * 1024;

function sha(data: Buffer | string): string { return createHash('sha256').update(data).digest('hex'); }

/** An OCI layout with one uncompressed layer holding `bytes` of random data, pushed with skopeo. */
function pushRandomImage(name: string, bytes: number): string {
  const root = join(dir, `${name}-root`);
  mkdirSync(root, { recursive: true });
  // random, so no compression makes it small
  assert.equal(spawnSync('sh', ['-c', `head -c ${bytes} /dev/urandom > ${join(root, 'blob')}`]).status, 0);
  const oci = join(dir, `${name}-oci`);
  const blobs = join(oci, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const tar = join(dir, `${name}.tar`);
  assert.equal(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status, 0);
  rmSync(root, { recursive: true, force: true });
  const layerData = readFileSync(tar);
  const layer = sha(layerData);
  writeFileSync(join(blobs, layer), layerData);
  rmSync(tar);
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${layer}`] } });
  writeFileSync(join(blobs, sha(config)), config);
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layer}`, size: layerData.length }],
  });
  writeFileSync(join(blobs, sha(manifest)), manifest);
  writeFileSync(join(oci, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length }] }));
  writeFileSync(join(oci, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const ref = `${reg.host}/${name}:1`;
  const r = spawnSync(SKOPEO, ['copy', '--dest-tls-verify=false', `oci:${oci}`, `docker://${ref}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  rmSync(oci, { recursive: true, force: true });
  return ref;
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync('/tmp/fd-');
  l = layout(dir);
  const img = join(dir, 'disk.img');
  assert.equal(spawnSync('truncate', ['-s', '64M', img]).status, 0);
  assert.equal(spawnSync('mkfs.ext4', ['-q', '-F', '-m', '0', img]).status, 0);
  mkdirSync(l.dataRoot);
  mkdirSync(l.execRoot);
  assert.equal(spawnSync('mount', ['-o', 'loop', img, l.dataRoot]).status, 0);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', l.execRoot]).status, 0);
  reg = await startRegistry();
  bigRef = pushRandomImage('big', 96 * MiB);
  smallRef = pushRandomImage('small', 2 * MiB);
  b = await ready(spawnBerthd(l));
  ok(['import', '--change', 'ENV PATH=/bin', busyboxTar(dir), 'busybox:latest']);
});

after(async () => {
  if (skip) return;
  if (b) {
    const ids = docker(b.sock, ['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (ids.length > 0) docker(b.sock, ['rm', '-f', ...ids]);
    await stop(b);
    // a removal that failed leaves its processes (which hold the loop mount): killed through their cgroups
    for (const [id, dirs] of berthCgroups()) {
      if (!ids.includes(id)) continue;
      for (const d of dirs) {
        try { for (const p of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
      }
    }
  }
  for (const p of [...corePid(l), ...shimPids(l)]) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  await sleep(300);
  for (const m of mountsUnder(dir).sort().reverse()) if (spawnSync('umount', [m]).status !== 0) spawnSync('umount', ['-l', m]);
  // a lazy unmount keeps the loop device: detach it by its backing file
  const loops = spawnSync('losetup', ['-j', join(dir, 'disk.img')], { encoding: 'utf8' }).stdout.split('\n').map((x) => x.split(':')[0]!).filter(Boolean);
  for (const dev of loops) spawnSync('losetup', ['-d', dev]);
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a pull larger than the disk fails clearly, frees what it wrote, and the daemon keeps serving', { skip, timeout: 120_000 }, () => {
  const before = free();
  const err = fails(['pull', bigRef]);
  assert.match(err, /no space left/i, err);
  assert.match(ok(['version', '--format', '{{.Server.Version}}']), /\S/);
  assert.doesNotMatch(ok(['images', '--format', '{{.Repository}}']), /big/);
  // the partial download is not kept: the space is back (within 2 MiB of metadata)
  assert.ok(free() > before - 2 * MiB, `free ${free() / MiB} MiB after the failed pull, ${before / MiB} before`);
});

test('a container logging into a full disk keeps running; the fault is shown; logs still answer; a create then fails cleanly', { skip, timeout: 180_000 }, async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const pad = 'x'.repeat(200);
  const id = ok(['run', '-d', '--name', 'noisy', 'busybox', 'sh', '-c', `i=0; while true; do i=$((i+1)); echo "line $i ${pad}"; done`]).trim();
  const deadline = Date.now() + 90_000;
  while (free() > 0 && Date.now() < deadline) await sleep(250);
  assert.equal(free(), 0, 'the disk filled up');
  await sleep(2000);
  assert.equal(ok(['inspect', '--format', '{{.State.Status}}', id]).trim(), 'running');
  noisy = { id, since };
  // logs still answer, with every line that made it to the disk in order
  const logs = docker(b.sock, ['logs', '--tail', '5', id]);
  assert.equal(logs.status, 0, logs.stderr);
  assert.match(logs.stdout, /^line \d+ x+$/m);
  // a create on the full disk fails with a clear error and leaves no container behind
  const before = ok(['ps', '-aq', '--no-trunc']).split('\n').filter(Boolean).length;
  const err = fails(['create', '--name', 'late', 'busybox', 'true']);
  assert.match(err, /no space left/i, err);
  assert.equal(ok(['ps', '-aq', '--no-trunc']).split('\n').filter(Boolean).length, before);
  assert.equal(docker(b.sock, ['inspect', 'late']).status, 1);
});

test('the log fault of a container on a full disk shows in its state or events', { skip }, () => {
  assert.ok(noisy, 'the logging container ran');
  const state = ok(['inspect', '--format', '{{.State.Error}}', noisy.id]).trim();
  const events = ok(['events', '--since', String(noisy.since), '--until', String(Math.ceil(Date.now() / 1000)), '--filter', `container=${noisy.id}`, '--format', '{{.Action}} {{json .Actor.Attributes}}']);
  assert.ok(/no space/i.test(state) || /no space/i.test(events), `the log fault is shown: state ${JSON.stringify(state)}, events ${events}`);
});

test('after freeing space: pull, create, run and logs work again', { skip, timeout: 180_000 }, async () => {
  ok(['rm', '-f', 'noisy']);
  ok(['container', 'prune', '-f']);
  assert.ok(free() > 40 * MiB, `free ${free() / MiB} MiB after removal`);
  ok(['pull', smallRef]);
  const out = docker(b.sock, ['run', '--name', 'after', 'busybox', 'sh', '-c', 'echo back; echo again']);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, 'back\nagain\n');
  assert.equal(ok(['logs', 'after']), 'back\nagain\n');
  ok(['create', '--name', 'fresh', 'busybox', 'true']);
  ok(['rm', 'after', 'fresh']);
  ok(['rmi', smallRef]);
});
