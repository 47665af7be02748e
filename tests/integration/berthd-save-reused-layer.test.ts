/**
 * `docker save` of an image pulled from a registry whose layer was already
 * unpacked here: the pull reuses the snapshot ("Already exists") and never
 * downloads that compressed blob, as dockerd's pull does. The save must
 * still give the whole image: the layer as a stored blob of the same diff
 * ID (the uncompressed one an import or load kept, or another image's
 * copy), else fetched from the registry the image came from; a layer found
 * nowhere is refused naming the layer. The archives load into Debian's
 * dockerd and into a fresh berthd, and run there (dockerd itself, for the
 * same sequence, says "Already exists" at the pull and saves the image).
 * Needs root, `npm run build`, docker-registry, dockerd.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { busyboxTar, docker, layout, ready, skipBerthd, spawnBerthd, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';
import { CONTAINERD, DOCKERD, Engines } from '../helpers/engines.js';
import { CoreClient } from '../../src/core/client.js';
import { ENGINE_NAMESPACE } from '../../src/daemon/namespace.js';
import { registrySkip, startRegistry, type TestRegistry } from '../helpers/registry.js';

const skip = skipBerthd || registrySkip || (!existsSync(DOCKERD) || !existsSync(CONTAINERD) ? 'needs dockerd and containerd' : false);

let dir: string;
let l: Layout;
let b: Berthd;
let reg: TestRegistry;

function ok(sock: string, args: string[]): string {
  const r = docker(sock, args);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The files of a tar archive by name (symlinks as their target). */
async function tarFiles(file: string): Promise<Map<string, Buffer | string>> {
  const out = new Map<string, Buffer | string>();
  const x = extract();
  x.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => { out.set(h.name, h.type === 'symlink' ? `-> ${h.linkname ?? ''}` : Buffer.concat(chunks)); next(); });
  });
  const done = new Promise<void>((resolve, reject) => { x.on('finish', resolve); x.on('error', reject); });
  x.end(readFileSync(file));
  await done;
  return out;
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const plain = (b: Buffer): Buffer => (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b);

/** Checks an archive holds every layer of its one image, each (decompressed) the config's diff ID; returns the layer paths. */
async function checkArchive(file: string): Promise<string[]> {
  const files = await tarFiles(file);
  const manifest = JSON.parse(String(files.get('manifest.json'))) as { Config: string; Layers: string[] }[];
  assert.equal(manifest.length, 1);
  const config = JSON.parse(String(files.get(manifest[0]!.Config))) as { rootfs: { diff_ids: string[] } };
  assert.equal(manifest[0]!.Layers.length, config.rootfs.diff_ids.length);
  manifest[0]!.Layers.forEach((p, i) => {
    const body = files.get(p);
    assert.ok(Buffer.isBuffer(body), `layer ${p} is in the archive`);
    assert.equal(sha(plain(body)), config.rootfs.diff_ids[i]);
  });
  // the OCI layout half: index → manifest → every blob present
  const index = JSON.parse(String(files.get('index.json'))) as { manifests: { digest: string }[] };
  for (const m of index.manifests) {
    const body = files.get(`blobs/sha256/${m.digest.slice(7)}`);
    assert.ok(Buffer.isBuffer(body), `manifest ${m.digest} is in the archive`);
    assert.equal(sha(body), m.digest);
    const om = JSON.parse(body.toString()) as { config: { digest: string }; layers: { digest: string; size: number }[] };
    for (const d of [om.config, ...om.layers]) {
      const blob = files.get(`blobs/sha256/${d.digest.slice(7)}`);
      assert.ok(Buffer.isBuffer(blob), `blob ${d.digest} of manifest ${m.digest} is in the archive`);
      assert.equal(sha(blob), d.digest);
    }
  }
  return manifest[0]!.Layers;
}

/** Pushes a one-layer image (a Docker schema 2 manifest) to the test registry over its HTTP API. */
async function pushImage(ref: string, config: Buffer, gzLayer: Buffer): Promise<void> {
  const [host, rest] = [ref.slice(0, ref.indexOf('/')), ref.slice(ref.indexOf('/') + 1)];
  const [repo, tag] = rest.split(':') as [string, string];
  const upload = async (body: Buffer): Promise<{ digest: string; size: number }> => {
    const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const location = new URL(start.headers.get('location')!, `http://${host}`);
    location.searchParams.set('digest', sha(body));
    const put = await fetch(location, { method: 'PUT', body: new Uint8Array(body), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(put.status, 201, await put.text());
    return { digest: sha(body), size: body.length };
  };
  const manifest = {
    schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', ...(await upload(config)) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', ...(await upload(gzLayer)) }],
  };
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT', body: JSON.stringify(manifest), headers: { 'content-type': manifest.mediaType },
  });
  assert.equal(res.status, 201, await res.text());
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-h61-'));
  l = layout(dir);
  reg = await startRegistry('anonymous');
  b = await ready(spawnBerthd(l));
});

after(async () => {
  if (skip) return;
  const left = await teardownBerthd(b, l, dir);
  await reg.stop();
  assert.deepEqual(left, []);
});

test('save of a pulled image whose layer was reused from an imported one; loads into dockerd and a fresh berthd', { skip, timeout: 240_000 }, async () => {
  const work = join(dir, 'work');
  mkdirSync(work);
  ok(b.sock, ['import', '-c', 'CMD ["cat", "/etc/marker"]', busyboxTar(work, { '/etc/marker': 'reused layer\n' }), 'base:1']);
  const id = ok(b.sock, ['inspect', '--format', '{{.Id}}', 'base:1']).trim();
  const baseTar = join(work, 'base.tar');
  ok(b.sock, ['save', '-o', baseTar, 'base:1']);
  // the registry gets the image twice, its layer gzipped at two levels: two other blobs, one diff ID
  const files = await tarFiles(baseTar);
  const entry = (JSON.parse(String(files.get('manifest.json'))) as { Config: string; Layers: string[] }[])[0]!;
  const config = files.get(entry.Config) as Buffer;
  const layer = files.get(entry.Layers[0]!) as Buffer;
  const remote = `${reg.host}/reused:1`;
  const remote2 = `${reg.host}/reused2:1`;
  await pushImage(remote, config, gzipSync(layer, { level: 6 }));
  await pushImage(remote2, config, gzipSync(layer, { level: 1 }));
  for (const r of [remote, remote2]) {
    assert.match(ok(b.sock, ['pull', r]), /^[0-9a-f]{12}: Already exists$/m);
    assert.equal(ok(b.sock, ['inspect', '--format', '{{.Id}}', r]).trim(), id);
  }
  const diffId = ok(b.sock, ['inspect', '--format', '{{index .RootFS.Layers 0}}', remote]).trim();
  const core = new CoreClient(join(l.execRoot, 'core.sock'), ENGINE_NAMESPACE);
  const stored = async (digest: string): Promise<boolean> => core.content.Info({ digest }).then(() => true, () => false);
  try {
    // the layer comes from the uncompressed blob the import stored
    const saved = join(work, 'reused.tar');
    ok(b.sock, ['save', '-o', saved, remote]);
    await checkArchive(saved);

    // with the import gone (its blob collected), the layer is fetched from the registry the image came from ...
    ok(b.sock, ['rmi', 'base:1']);
    await core.gc.Collect({});
    assert.equal(await stored(diffId), false);
    const fetched = join(work, 'reused-fetched.tar');
    ok(b.sock, ['save', '-o', fetched, remote]);
    await checkArchive(fetched);
    // ... and kept: the image is whole now, its save needs the registry no more; the other image's save takes that blob
    await reg.stop();
    const offline = join(work, 'reused-offline.tar');
    ok(b.sock, ['save', '-o', offline, remote]);
    await checkArchive(offline);
    const other = join(work, 'reused2.tar');
    ok(b.sock, ['save', '-o', other, remote2]);
    await checkArchive(other);

    // nowhere: no stored blob of that diff ID, the registry gone; refused naming the layer
    ok(b.sock, ['rmi', remote]);
    await core.gc.Collect({});
    const r = docker(b.sock, ['save', '-o', join(work, 'never.tar'), remote2]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`layer ${diffId}`));
    assert.match(r.stderr, /was not downloaded/);
  } finally {
    core.close();
  }
  const saved = join(work, 'reused.tar');
  const offline = join(work, 'reused-offline.tar');

  // a fresh berthd loads it and runs it
  const dir2 = mkdtempSync(join(tmpdir(), 'berth-h61-fresh-'));
  const l2 = layout(dir2);
  const b2 = await ready(spawnBerthd(l2));
  try {
    assert.equal(ok(b2.sock, ['load', '-i', saved]).trim(), `Loaded image: ${remote}`);
    assert.equal(ok(b2.sock, ['inspect', '--format', '{{.Id}}', remote]).trim(), id);
    assert.equal(ok(b2.sock, ['run', '--rm', '--network', 'none', remote]), 'reused layer\n');
  } finally {
    assert.deepEqual(await teardownBerthd(b2, l2, dir2), []);
  }

  // Debian's dockerd loads both archives and runs the image
  const engines = await Engines.start({ runtimes: {}, dockerd: true });
  try {
    assert.match(engines.dockerOk(['load', '-i', saved]), new RegExp(`Loaded image: ${remote.replace(/\./g, '\\.')}`));
    assert.equal(engines.dockerOk(['inspect', '--format', '{{.Id}}', remote]).trim(), id);
    assert.equal(engines.dockerOk(['run', '--rm', '--network', 'none', remote]), 'reused layer\n');
    engines.dockerOk(['rmi', remote]);
    assert.match(engines.dockerOk(['load', '-i', offline]), /Loaded image/);
    assert.equal(engines.dockerOk(['run', '--rm', '--network', 'none', remote]), 'reused layer\n');
  } finally {
    await engines.stop();
  }
});
