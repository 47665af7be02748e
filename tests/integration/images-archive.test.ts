/**
 * save/load, import/export through a real berth-core: import of a busybox
 * rootfs with every --change kind (inspect shows them); Berth save → load
 * round trip (same ID, layers, tags) and a container run on the loaded
 * image; export of a container after it wrote a file; Debian's dockerd
 * (private, tests/helpers/engines.ts): its `docker save` loads into Berth
 * and runs, Berth's save loads into docker and runs; corrupt archives
 * (digest mismatch, missing layer, path traversal in a layer) refused with
 * nothing left after gc. Needs root, `npm run build`; the docker part needs
 * dockerd and containerd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Container } from '../../src/core/api/types.js';
import { CoreClient } from '../../src/core/client.js';
import { mountAll, unmountAll } from '../../src/core/snapshots/mount.js';
import { defaultConfig } from '../helpers/bundle.js';
import { kill9, liveMatching, ready, skip as coreSkip, spawnCore, type Core } from '../helpers/core.js';
import { CONTAINERD, DOCKERD, Engines } from '../helpers/engines.js';
import { REPO } from '../helpers/runtime.js';

const run = promisify(execFile);
const ctrBin = join(REPO, 'bin', 'berth-ctr');
const skip = coreSkip;
const dockerSkip = skip || (!existsSync(DOCKERD) || !existsSync(CONTAINERD) ? 'needs dockerd and containerd' : false);

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Env { dir: string; address: string; client: CoreClient; core: Core; work: string }

async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-archive-it-'));
  writeFileSync(join(dir, 'config.json'), '{}');
  const address = join(dir, 'core.sock');
  let core: Core | undefined;
  let client: CoreClient | undefined;
  try {
    core = await ready(spawnCore(dir, address), address);
    client = new CoreClient(address);
    const work = join(dir, 'work');
    mkdirSync(work);
    await fn({ dir, address, client, core, work });
  } finally {
    client?.close();
    if (core) await kill9(core);
    for (const p of liveMatching(dir)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const ctr = async (env: Env, ...args: string[]): Promise<string> => {
  try {
    return (await run(ctrBin, ['--address', env.address, ...args], { maxBuffer: 64 << 20 })).stdout;
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

/** A busybox root filesystem tar (every applet a symlink), gzipped when asked. */
function busyboxRootfs(work: string, gzip = false): string {
  const root = join(work, 'rootfs');
  for (const d of ['bin', 'etc', 'www', 'tmp', 'proc', 'dev', 'sys']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  writeFileSync(join(root, 'bin', 'busybox'), readFileSync('/bin/busybox'), { mode: 0o755 });
  for (const a of ['sh', 'cat', 'echo', 'test', 'ls']) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'www', 'index.html'), 'berth archive page\n');
  const out = join(work, gzip ? 'rootfs.tar.gz' : 'rootfs.tar');
  const r = spawnSync('tar', ['--numeric-owner', `-c${gzip ? 'z' : ''}f`, out, '-C', root, '.']);
  assert.equal(r.status, 0, r.stderr?.toString());
  rmSync(root, { recursive: true, force: true });
  return out;
}

interface Inspect { Id: string; RepoTags: string[]; RootFS: { Layers: string[] }; Comment: string; Architecture: string; Os: string; Config: Record<string, unknown> }
const inspect = async (env: Env, ref: string): Promise<Inspect> => (JSON.parse(await ctr(env, 'images', 'inspect', ref)) as Inspect[])[0]!;

const counts = async (env: Env): Promise<{ blobs: number; snapshots: number; images: number }> => ({
  blobs: (await env.client.content.List({ filters: [] })).info.length,
  snapshots: (await env.client.snapshots.List({ snapshotter: '', filters: [] })).info.length,
  images: (await env.client.images.List({ filters: [] })).images.length,
});

/**
 * Runs args through the core in a container whose rootfs is a snapshot of
 * the image whose top chain ID is `chain`, mounted here from the mounts the
 * core gives (the core's task manager is not handed the snapshotters yet);
 * returns the exit status.
 */
async function runOn(env: Env, id: string, chain: string, args: string[]): Promise<number> {
  const { mounts } = await env.client.snapshots.Prepare({ snapshotter: '', key: `${id}-rootfs`, parent: chain, labels: {} });
  const rootfs = join(env.work, `${id}-rootfs`);
  mkdirSync(rootfs);
  mountAll(mounts.map((m) => ({ type: m.type, source: m.source, options: m.options })), rootfs);
  try {
    const spec = defaultConfig(args);
    spec.root.path = rootfs;
    await env.client.containers.Create({ container: { id, image: '', spec: Buffer.from(JSON.stringify(spec)), runtime: { name: '', options: Buffer.alloc(0) },
      rootfs, snapshotKey: '', snapshotter: '', labels: {} } as unknown as Container });
    await env.client.tasks.Create({ containerId: id });
    await env.client.tasks.Start({ containerId: id });
    const { exitStatus } = await env.client.tasks.Wait({ containerId: id });
    await env.client.tasks.Delete({ containerId: id });
    return exitStatus;
  } finally {
    unmountAll(rootfs);
  }
}

async function removeContainer(env: Env, id: string): Promise<void> {
  await env.client.containers.Delete({ id });
  await env.client.snapshots.Remove({ snapshotter: '', key: `${id}-rootfs` });
}

/** The chain ID of a one-layer image is its diff ID. */
const topChain = (i: Inspect): string => {
  let chain = '';
  for (const d of i.RootFS.Layers) chain = chain === '' ? d : sha(`${chain} ${d}`);
  return chain;
};

test('import with every --change kind; save → load round trip; a container on the loaded image; export after a write', { skip, timeout: 120_000 }, () => withEnv(async (env) => {
  const tarGz = busyboxRootfs(env.work, true);
  const changes = [
    'CMD ["sh", "-c", "echo hi"]', 'ENTRYPOINT /bin/sh -c', 'ENV A=1 B="two words"', 'ENV LEGACY some value', 'WORKDIR /www', 'EXPOSE 80 53/udp',
    'USER 1000:1000', 'LABEL org.example.a=x "org.example.b"="y z"', 'VOLUME ["/data"]', 'HEALTHCHECK --interval=5s CMD true',
  ];
  const out = await ctr(env, 'images', 'import', ...changes.flatMap((c) => ['--change', c]), '--message', 'from the test', tarGz, 'example.test/imported:1');
  assert.match(out, /^docker\.io\/|example\.test\/imported:1 sha256:/);
  const imp = await inspect(env, 'example.test/imported:1');
  assert.equal(imp.Comment, 'from the test');
  assert.equal(imp.Architecture, 'amd64');
  assert.equal(imp.Os, 'linux');
  assert.deepEqual(imp.Config, {
    Cmd: ['sh', '-c', 'echo hi'], Entrypoint: ['/bin/sh', '-c', '/bin/sh -c'], Env: ['A=1', 'B=two words', 'LEGACY=some value'], WorkingDir: '/www',
    ExposedPorts: { '80/tcp': {}, '53/udp': {} }, User: '1000:1000', Labels: { 'org.example.a': 'x', 'org.example.b': 'y z' },
    Volumes: { '/data': {} }, Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 5e9 },
  });
  assert.equal(imp.RepoTags[0], 'example.test/imported:1');
  assert.match(await ctrFails(env, 'images', 'import', '--change', 'RUN true', tarGz, 'example.test/bad:1'), /run is not a valid change command/);

  // save → remove → gc → load: same ID, layers and tags
  await ctr(env, 'images', 'tag', 'example.test/imported:1', 'example.test/imported:2');
  const archive = join(env.work, 'saved.tar');
  await ctr(env, 'images', 'save', '-o', archive, 'example.test/imported:1', 'example.test/imported:2');
  const listing = spawnSync('tar', ['-tf', archive], { encoding: 'utf8' }).stdout.split('\n');
  for (const f of ['manifest.json', 'repositories', 'oci-layout', 'index.json']) assert.ok(listing.includes(f), `${f} in the archive`);
  assert.ok(listing.some((f) => /^[0-9a-f]{64}\/layer\.tar$/.test(f)), 'legacy layer directories');
  const manifestJson = JSON.parse(spawnSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' }).stdout) as { RepoTags: string[] }[];
  assert.deepEqual(manifestJson[0]!.RepoTags.sort(), ['example.test/imported:1', 'example.test/imported:2']);
  await ctr(env, 'images', 'rm', '-f', imp.Id);
  await ctr(env, 'gc');
  assert.deepEqual(await counts(env), { blobs: 0, snapshots: 0, images: 0 });
  const loaded = await ctr(env, 'images', 'load', '-i', archive);
  assert.match(loaded, /Loaded image: example\.test\/imported:1/);
  assert.match(loaded, /Loaded image: example\.test\/imported:2/);
  const back = await inspect(env, 'example.test/imported:2');
  assert.equal(back.Id, imp.Id);
  assert.deepEqual(back.RootFS.Layers, imp.RootFS.Layers);
  assert.deepEqual(back.RepoTags.sort(), ['example.test/imported:1', 'example.test/imported:2']);
  await ctr(env, 'gc');
  assert.equal((await counts(env)).snapshots, 1, 'the loaded layer is unpacked and kept');

  // a container on the loaded image writes a file; export has it
  const status = await runOn(env, 'c1', topChain(back), ['/bin/sh', '-c', 'test "$(cat /www/index.html)" = "berth archive page" && echo exported > /www/new.txt && exit 7']);
  assert.equal(status, 7);
  // the container names its snapshot (what export reads), now its task is gone
  await env.client.containers.Update({ container: { id: 'c1', rootfs: '', snapshotKey: 'c1-rootfs' } as Container, updateMask: ['rootfs', 'snapshot_key'] });
  const exported = join(env.work, 'c1.tar');
  await ctr(env, 'containers', 'export', 'c1', '-o', exported);
  const names = spawnSync('tar', ['-tf', exported], { encoding: 'utf8' }).stdout.split('\n');
  assert.ok(names.includes('www/new.txt'), `www/new.txt in ${names.slice(0, 20).join(' ')}`);
  assert.ok(names.includes('bin/busybox'));
  assert.equal(spawnSync('tar', ['-xOf', exported, 'www/new.txt'], { encoding: 'utf8' }).stdout, 'exported\n');
  assert.deepEqual(readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(join(env.dir, 'root', 'tmp'))), [], 'the export mount is gone');
  await removeContainer(env, 'c1');

  // the same archive gzipped loads too
  const gz = spawnSync('gzip', ['-c', archive], { maxBuffer: 64 << 20 });
  writeFileSync(join(env.work, 'saved.tar.gz'), gz.stdout);
  assert.match(await ctr(env, 'images', 'load', '-i', join(env.work, 'saved.tar.gz')), /Loaded image: example\.test\/imported:1/);
}));

/** Rewrites a tar through a directory: fn edits the files, then it is packed again. */
function retar(work: string, archive: string, name: string, fn: (dir: string) => void): string {
  const dir = join(work, `${name}-dir`);
  mkdirSync(dir);
  assert.equal(spawnSync('tar', ['-xf', archive, '-C', dir]).status, 0);
  fn(dir);
  const out = join(work, `${name}.tar`);
  assert.equal(spawnSync('tar', ['-cf', out, '-C', dir, '.']).status, 0);
  rmSync(dir, { recursive: true, force: true });
  return out;
}

test('corrupt archives are refused with nothing left after gc', { skip, timeout: 120_000 }, () => withEnv(async (env) => {
  const tar = busyboxRootfs(env.work);
  await ctr(env, 'images', 'import', tar, 'example.test/base:1');
  const archive = join(env.work, 'good.tar');
  await ctr(env, 'images', 'save', '-o', archive, 'example.test/base:1');
  const img = await inspect(env, 'example.test/base:1');
  await ctr(env, 'images', 'rm', 'example.test/base:1');
  await ctr(env, 'gc');
  const before = await counts(env);
  assert.deepEqual(before, { blobs: 0, snapshots: 0, images: 0 });
  const manifest = (dir: string): { Config: string; Layers: string[] } => (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[])[0]!;

  // a blob whose bytes do not match its name
  const mismatch = retar(env.work, archive, 'mismatch', (dir) => {
    const layer = join(dir, manifest(dir).Layers[0]!);
    const b = readFileSync(layer);
    b[b.length - 2000] ^= 0xff;
    writeFileSync(layer, b);
  });
  assert.match(await ctrFails(env, 'images', 'load', '-i', mismatch), /cannot load archive: .*digest mismatch/);
  // a layer manifest.json names that is not in the tar (and no OCI index to fall back on)
  const missing = retar(env.work, archive, 'missing', (dir) => {
    rmSync(join(dir, manifest(dir).Layers[0]!));
    rmSync(join(dir, 'index.json'));
  });
  assert.match(await ctrFails(env, 'images', 'load', '-i', missing), /cannot load archive: .*missing/);
  // a layer with a path leaving the snapshot, in an archive whose digests are all right
  const evil = join(env.work, 'evil');
  mkdirSync(join(evil, 'x'), { recursive: true });
  writeFileSync(join(evil, 'x', 'passwd'), 'pwned\n');
  const evilLayer = spawnSync('tar', ['-cf', '-', '-C', evil, '--transform', 's,^x/passwd,../../etc/passwd-berth-test,', 'x/passwd'], { maxBuffer: 16 << 20 }).stdout;
  const evilTar = retar(env.work, archive, 'evil', (dir) => {
    const m = manifest(dir);
    rmSync(join(dir, 'index.json'));
    const config = JSON.parse(readFileSync(join(dir, m.Config), 'utf8')) as { rootfs: { diff_ids: string[] } };
    config.rootfs.diff_ids = [sha(evilLayer)];
    const configBody = Buffer.from(JSON.stringify(config));
    writeFileSync(join(dir, 'blobs/sha256', sha(configBody).slice(7)), configBody);
    writeFileSync(join(dir, 'blobs/sha256', sha(evilLayer).slice(7)), evilLayer);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: `blobs/sha256/${sha(configBody).slice(7)}`, RepoTags: ['example.test/evil:1'], Layers: [`blobs/sha256/${sha(evilLayer).slice(7)}`] }]));
  });
  assert.match(await ctrFails(env, 'images', 'load', '-i', evilTar), /cannot load archive: .*leaves the layer/);
  assert.ok(!existsSync('/etc/passwd-berth-test'));
  // not an archive at all
  writeFileSync(join(env.work, 'junk.tar'), 'not a tar at all'.repeat(100));
  assert.match(await ctrFails(env, 'images', 'load', '-i', join(env.work, 'junk.tar')), /cannot load archive/);

  await ctr(env, 'gc');
  assert.deepEqual(await counts(env), before, 'nothing left after the refused loads and gc');
  assert.deepEqual((await env.client.leases.List({ filters: [] })).leases, []);
  assert.deepEqual((await env.client.content.ListStatuses({ filters: [] })).statuses, [], 'no ingest left');
  // the good archive still loads
  assert.match(await ctr(env, 'images', 'load', '-i', archive), /Loaded image: example\.test\/base:1/);
  assert.equal((await inspect(env, 'example.test/base:1')).Id, img.Id);
}));

test('docker save loads into Berth and runs; Berth save loads into docker and runs', { skip: dockerSkip, timeout: 240_000 }, () => withEnv(async (env) => {
  const engines = await Engines.start({ runtimes: {}, dockerd: true });
  try {
    engines.buildImage('berth-archive:1');
    const fromDocker = join(env.work, 'docker.tar');
    engines.dockerOk(['save', '-o', fromDocker, 'berth-archive:1']);
    assert.match(await ctr(env, 'images', 'load', '-i', fromDocker), /Loaded image: docker\.io\/library\/berth-archive:1/);
    const img = await inspect(env, 'berth-archive:1');
    assert.equal(img.Id, engines.dockerOk(['image', 'inspect', '--format', '{{.Id}}', 'berth-archive:1']).trim(), 'the same image ID as docker\'s');
    const status = await runOn(env, 'from-docker', topChain(img), ['/bin/sh', '-c', 'test "$(cat /www/index.html)" = "<h1>berth e2e page</h1>" && exit 5']);
    assert.equal(status, 5);
    await removeContainer(env, 'from-docker');

    // Berth's own image (imported here) into docker
    const tar = busyboxRootfs(env.work);
    await ctr(env, 'images', 'import', '--change', 'CMD ["cat", "/www/index.html"]', '--change', 'ENV PATH=/bin', tar, 'example.test/from-berth:1');
    const fromBerth = join(env.work, 'berth.tar');
    await ctr(env, 'images', 'save', '-o', fromBerth, 'example.test/from-berth:1');
    assert.match(engines.dockerOk(['load', '-i', fromBerth]), /example\.test\/from-berth:1/);
    const printed = engines.dockerOk(['run', '--rm', 'example.test/from-berth:1']);
    assert.equal(printed, 'berth archive page\n');
    assert.equal(engines.dockerOk(['image', 'inspect', '--format', '{{.Id}}', 'example.test/from-berth:1']).trim(), (await inspect(env, 'example.test/from-berth:1')).Id);
  } finally {
    await engines.stop();
  }
}));
