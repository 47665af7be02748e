/**
 * berth-vm under berth-core and berth-shim: a task created, started, waited
 * for and deleted like any other, its stdout/stderr in the json-file log, its
 * exit code from the guest; a killed task's VM gone afterwards. Skips with
 * the reason when qemu, the guest kernel or the build is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreClient } from '../../src/core/client.js';
import type { Container } from '../../src/core/api/types.js';
import { defaultConfig, makeBundle, removeBundle } from '../helpers/bundle.js';
import { REPO } from '../helpers/runtime.js';
import { kill9, liveMatching, ready, skip as coreSkip, spawnCore } from '../helpers/core.js';
import { cachedKernel } from '../../src/vm/config.js';

const BIN = join(REPO, 'bin', 'berth-vm');
const kernel = process.env.BERTH_VM_KERNEL ?? cachedKernel('/var/cache/berth/vm')?.kernel;
const skip = coreSkip || (!existsSync('/usr/bin/qemu-system-x86_64') ? 'needs qemu-system-x86'
  : !kernel ? 'needs the guest kernel (scripts/vm-kernel.sh)' : !existsSync(BIN) ? 'needs npm run build' : false);

test('a berth-vm task through the core: json log, exit code, nothing left after delete', { skip, timeout: 150_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-core-it-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ runtimes: { 'berth-vm': { path: BIN } } }));
  const address = join(dir, 'core.sock');
  const rootfs = makeBundle(['true'], 'berth-vm-core-rootfs-');
  const core = await ready(spawnCore(dir, address), address);
  const client = new CoreClient(address);
  const spec = (args: string[]): Buffer => {
    const c = defaultConfig(args);
    c.root.path = rootfs.rootfs;
    return Buffer.from(JSON.stringify(c));
  };
  const create = (id: string, args: string[]) => client.containers.Create({ container: {
    id, image: '', spec: spec(args), runtime: { name: 'berth-vm', options: Buffer.alloc(0) }, rootfs: rootfs.rootfs, snapshotKey: '', labels: {},
  } as unknown as Container });
  try {
    const id = `vmcore-${process.pid}`;
    await create(id, ['sh', '-c', 'echo out-line from $(uname -r); echo err-line >&2; exit 3']);
    const created = await client.tasks.Create({ containerId: id });
    assert.ok(created.pid > 0);
    assert.equal((await client.tasks.State({ containerId: id })).process!.status, 'CREATED');
    await client.tasks.Start({ containerId: id });
    assert.equal((await client.tasks.Wait({ containerId: id })).exitStatus, 3);
    const st = (await client.tasks.State({ containerId: id })).process!;
    const lines = readFileSync(st.stdout, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { log: string; stream: string });
    const byStream = Object.fromEntries(lines.map((l) => [l.stream, l.log]));
    assert.match(byStream.stdout ?? '', /^out-line from \S+-cloud-amd64\n$/);
    assert.equal(byStream.stderr, 'err-line\n');
    assert.equal((await client.tasks.Delete({ containerId: id })).exitStatus, 3);

    const id2 = `vmkill-${process.pid}`;
    await create(id2, ['sleep', '300']);
    await client.tasks.Create({ containerId: id2 });
    await client.tasks.Start({ containerId: id2 });
    await client.tasks.Kill({ containerId: id2, signal: 9 });
    assert.equal((await client.tasks.Wait({ containerId: id2 })).exitStatus, 137);
    await client.tasks.Delete({ containerId: id2 });
    for (const x of [id, id2]) {
      for (let i = 0; i < 50 && liveMatching(x).length > 0; i++) await sleep(100);
      assert.deepEqual(liveMatching(x), [], `a process of ${x} (qemu, virtiofsd, keeper) survived`);
      const cg = spawnSync('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-type', 'd', '-name', `*${x}*`], { encoding: 'utf8' }).stdout.trim();
      assert.equal(cg, '', `a cgroup of ${x} survived`);
    }
  } finally {
    client.close();
    await kill9(core);
    for (const p of liveMatching(dir)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    removeBundle(rootfs);
    rmSync(dir, { recursive: true, force: true });
  }
});
