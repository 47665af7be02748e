/**
 * Recovery after a restart of berth-core runs the tasks concurrently: eight
 * tasks whose shims were killed (kill -9) while the core was down, under a
 * runtime whose `delete` takes a second (the cleanup of a lost shim calls
 * it), are all reported failed within a few seconds of the restart, where
 * one after the other would take eight. Needs root, runc and `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreClient } from '../../src/core/client.js';
import type { Container } from '../../src/core/api/types.js';
import { defaultConfig, makeBundle, removeBundle } from '../helpers/bundle.js';
import { RUNC, kill9, liveMatching, ready, skip, spawnCore, type Core } from '../helpers/core.js';

const TASKS = 8;

test('tasks whose shims died while the core was down are all reported failed within seconds of the restart', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-recovery-it-'));
  const slow = join(dir, 'slow-runtime');
  writeFileSync(slow, `#!/bin/sh\nfor a; do [ "$a" = delete ] && sleep 1; done\nexec ${RUNC} "$@"\n`, { mode: 0o755 });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ runtimes: { slow: { path: slow } } }));
  const address = join(dir, 'core.sock');
  const rootfs = makeBundle(['true'], 'berth-recovery-rootfs-');
  const cores: Core[] = [];
  let client = new CoreClient(address);
  try {
    cores.push(await ready(spawnCore(dir, address), address));
    const ids = Array.from({ length: TASKS }, (_, k) => `rec-${process.pid}-${k}`);
    for (const id of ids) {
      const c = defaultConfig(['sleep', '300']);
      c.root.path = rootfs.rootfs;
      await client.containers.Create({ container: { id, image: '', spec: Buffer.from(JSON.stringify(c)), runtime: { name: 'slow', options: Buffer.alloc(0) }, rootfs: rootfs.rootfs, snapshotKey: '', snapshotter: '', labels: {} } as unknown as Container });
      await client.tasks.Create({ containerId: id });
      await client.tasks.Start({ containerId: id });
    }
    const shims = ids.map((id) => Number(readFileSync(join(dir, 'state', 'default', id, 'shim', 'shim.pid'), 'utf8')));
    client.close();
    await kill9(cores[0]!);
    for (const pid of shims) process.kill(pid, 'SIGKILL');
    await sleep(200);

    const t0 = Date.now();
    cores.push(await ready(spawnCore(dir, address), address));
    client = new CoreClient(address);
    const { tasks } = await client.tasks.List({});
    const elapsed = Date.now() - t0;
    const mine = tasks.filter((t) => ids.includes(t.containerId));
    assert.equal(mine.length, TASKS);
    for (const t of mine) {
      assert.equal(t.status, 'STOPPED', t.containerId);
      assert.equal(t.reason, 'shim exited unexpectedly');
      assert.equal(t.exitStatus, 255);
    }
    // one at a time would be at least TASKS seconds of runtime deletes; together about one second plus
    // the core's start-up, which a loaded machine stretches (4.4 s seen at load 15)
    assert.ok(elapsed < TASKS * 1000 - 1500, `recovery took ${elapsed} ms: were the ${TASKS} slow deletes run one at a time?`);
    for (const id of ids) assert.deepEqual(liveMatching(`sleep 300`).filter((p) => readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(id)), [], `the container ${id} was cleaned up`);
    for (const id of ids) await client.tasks.Delete({ containerId: id });
  } finally {
    client.close();
    for (const c of cores) await kill9(c);
    for (const p of liveMatching(dir)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await sleep(100);
    spawnSync('sh', ['-c', `for r in ${join(dir, 'state')}/*/*/shim/runtime; do [ -d "$r" ] || continue; for c in "$r"/*; do ${RUNC} --root "$r" delete --force "$(basename "$c")" >/dev/null 2>&1; done; done`]);
    removeBundle(rootfs);
    rmSync(dir, { recursive: true, force: true });
  }
});
