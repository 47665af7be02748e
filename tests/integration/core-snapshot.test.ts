/**
 * A task whose root filesystem is a snapshot, through the core's task
 * manager and a real berth-shim and berth-runtime: busybox in a layer
 * applied into an overlayfs snapshot, the container's snapshot mounted at
 * <bundle>/rootfs for the task, the container's writes landing in its
 * snapshot, and nothing left mounted after delete or after failed creates.
 * Needs root and `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { packed } from '../helpers/tar.js';
import { nullLogger } from '../../src/common/log.js';
import { defaultConfig as coreDefaults } from '../../src/core/config.js';
import type { ContainerRecord } from '../../src/core/containers/store.js';
import { EventBus } from '../../src/core/events.js';
import { openMetadataStore, type MetadataStore } from '../../src/core/metadata/store.js';
import { MediaType } from '../../src/core/oci/types.js';
import type { ServiceContext } from '../../src/core/services/context.js';
import { isMountPoint, openSnapshotter, type Snapshotter } from '../../src/core/snapshots/index.js';
import { TaskManager } from '../../src/core/tasks/manager.js';
import { applyLayer } from '../../src/core/unpack/apply.js';
import { defaultConfig as specFor } from '../helpers/bundle.js';
import { REPO, isRoot } from '../helpers/runtime.js';

const skip = !isRoot || !existsSync(join(REPO, 'bin', 'berth-shim')) || !existsSync(join(REPO, 'bin', 'berth-runtime')) ? 'needs root and npm run build' : false;
const NS = 'default';

/** A layer with busybox, /bin/sh and the directories the runtime mounts over. */
function busyboxLayer(): Promise<Buffer> {
  return packed((p) => {
    for (const d of ['bin/', 'etc/', 'proc/', 'dev/', 'sys/', 'tmp/']) p.entry({ name: d, type: 'directory', mode: 0o755 });
    p.entry({ name: 'bin/busybox', mode: 0o755 }, readFileSync('/bin/busybox'));
    p.entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox' });
    p.entry({ name: 'etc/os', mode: 0o644 }, 'from the layer\n');
  });
}

interface Env { dir: string; store: MetadataStore; snap: Snapshotter; tasks: TaskManager }

async function setup(): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-core-snap-'));
  const store = openMetadataStore(join(dir, 'meta.db'));
  store.namespaces.ensure(NS);
  const snap = openSnapshotter(store.db, join(dir, 'root'), 'overlayfs');
  await snap.prepare(NS, 'extract', '');
  await applyLayer(Readable.from([await busyboxLayer()]), { mediaType: MediaType.ociLayer, ...snap.applyTarget(NS, 'extract') });
  await snap.commit(NS, 'layer0', 'extract');
  const config = { ...coreDefaults(), root: join(dir, 'root'), state: join(dir, 'state'), fastPath: false };
  const ctx: ServiceContext = { store, bus: new EventBus(), config, log: nullLogger };
  const tasks = new TaskManager(ctx, { snapshotters: (name) => (name === '' || name === 'overlayfs' ? snap : undefined) });
  return { dir, store, snap, tasks };
}

function teardown(env: Env): void {
  env.tasks.close();
  env.store.close();
  assert.deepEqual(mountsUnder(env.dir), [], 'nothing left mounted');
  rmSync(env.dir, { recursive: true, force: true });
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir));
}

function container(env: Env, id: string, args: string[], snapshotKey: string): ContainerRecord {
  const record = {
    namespace: NS, id, image: '', spec: Buffer.from(JSON.stringify(specFor(args))),
    runtime: { name: 'berth-runtime', options: Buffer.alloc(0) }, rootfs: '', snapshotKey, labels: {}, snapshotter: 'overlayfs',
  };
  return env.store.containers.create(record);
}

test('a container on a snapshot runs busybox, writes into its snapshot, and leaves no mount', { skip, timeout: 60_000 }, async () => {
  const env = await setup();
  try {
    await env.snap.prepare(NS, 'web-rootfs', 'layer0');
    container(env, 'web', ['/bin/sh', '-c', 'cat /etc/os; echo written > /written'], 'web-rootfs');
    const t = await env.tasks.create(NS, 'web', { terminal: false });
    assert.ok(isMountPoint(join(t.bundle, 'rootfs')), 'rootfs mounted before the runtime ran');
    await env.tasks.start(NS, 'web');
    const exit = await env.tasks.wait(NS, 'web');
    assert.equal(exit.status, 0);
    assert.match(readFileSync(t.log, 'utf8'), /from the layer/);
    await env.tasks.delete(NS, 'web');
    // unmounted when the delete answers; the bundle's files go right after it
    assert.ok(!isMountPoint(join(t.bundle, 'rootfs')), 'rootfs still mounted after the delete');
    for (let i = 0; i < 100 && existsSync(t.bundle); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!existsSync(t.bundle));
    // the write is in the container's snapshot (its upper directory), not in the layer
    assert.equal(readFileSync(join(env.snap.applyTarget(NS, 'web-rootfs').dir, 'written'), 'utf8'), 'written\n');
    await env.snap.view(NS, 'check', 'layer0');
    assert.deepEqual(env.snap.list(NS, ['kind==committed']).map((s) => s.key), ['layer0']);
  } finally {
    teardown(env);
  }
});

test('failed creates of containers on snapshots leave no mount and no bundle', { skip, timeout: 60_000 }, async () => {
  const env = await setup();
  try {
    // a snapshot that does not exist
    container(env, 'ghost', ['/bin/sh', '-c', 'true'], 'missing');
    await assert.rejects(env.tasks.create(NS, 'ghost', { terminal: false }), /snapshot missing does not exist/);
    // the runtime refuses after the rootfs is mounted: the binary is not in the snapshot
    await env.snap.prepare(NS, 'bad-rootfs', 'layer0');
    container(env, 'bad', ['/bin/no-such-binary'], 'bad-rootfs');
    let created = false;
    try {
      await env.tasks.create(NS, 'bad', { terminal: false });
      created = true;
      await env.tasks.start(NS, 'bad').catch(() => undefined);
      await env.tasks.wait(NS, 'bad');
      await env.tasks.delete(NS, 'bad', { force: true });
    } catch (err) {
      assert.ok(!created, `only create may fail: ${(err as Error).message}`);
    }
    assert.deepEqual(mountsUnder(env.dir), []);
    assert.deepEqual(env.tasks.list(NS), []);
  } finally {
    teardown(env);
  }
});
