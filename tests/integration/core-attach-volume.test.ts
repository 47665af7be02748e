/**
 * Tasks.Attach at volume: a task writing 50 MB in 40-byte numbered lines,
 * read through Attach by a client that stops reading for a few seconds
 * midway, gets every byte in order (count and checksum) and the task's exit
 * 0: the shim slows the task while its attacher is behind (backpressure)
 * instead of dropping the attacher. The json-file log has every line too.
 * Needs root, runc and `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { CoreClient } from '../../src/core/client.js';
import type { Container } from '../../src/core/api/types.js';
import { defaultConfig, makeBundle, removeBundle } from '../helpers/bundle.js';
import { REPO } from '../helpers/runtime.js';
import { RUNC, skip, spawnCore, ready, kill9, liveMatching } from '../helpers/core.js';

const LINES = 1_310_720; // × 40 bytes = 50 MiB
const BYTES = LINES * 40;

/** What the task writes: "%039d\n" of 0 … LINES-1. */
function expectedDigest(): string {
  const h = createHash('sha256');
  const batch = 8192;
  for (let i = 0; i < LINES; i += batch) {
    let s = '';
    for (let k = i; k < Math.min(i + batch, LINES); k++) s += `${String(k).padStart(39, '0')}\n`;
    h.update(s);
  }
  return h.digest('hex');
}

test('a task writing 50 MB in 40-byte lines to an attacher that stops reading for 3 s: every byte in order, the task slowed and finished', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-attach-vol-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ runtimes: { runc: { path: RUNC } } }));
  const address = join(dir, 'core.sock');
  const rootfs = makeBundle(['true'], 'berth-attach-vol-rootfs-');
  const core = await ready(spawnCore(dir, address), address);
  const client = new CoreClient(address);
  const id = `volume-${process.pid}`;
  try {
    await client.waitForReady(15_000);
    const cfg = defaultConfig(['awk', `BEGIN { for (i = 0; i < ${LINES}; i++) printf "%039d\\n", i }`]);
    cfg.root.path = rootfs.rootfs;
    await client.containers.Create({ container: { id, image: '', spec: Buffer.from(JSON.stringify(cfg)), runtime: { name: '', options: Buffer.alloc(0) }, rootfs: rootfs.rootfs, snapshotKey: '', labels: {} } as unknown as Container });
    await client.tasks.Create({ containerId: id, stdin: '' });
    const a = await client.attach({ containerId: id });
    await client.tasks.Start({ containerId: id });

    const h = createHash('sha256');
    let got = 0;
    let paused = false;
    let logDuringPause = [0, 0];
    const logPath = (await client.tasks.State({ containerId: id })).process!.stdout;
    for await (const c of a) {
      assert.equal(c.stream, 'stdout', c.data.toString());
      h.update(c.data);
      got += c.data.length;
      if (!paused && got > 10 * 1024 * 1024) {
        // the slow reader: nothing taken for 3 s; the task must wait for it, not lose it
        paused = true;
        await sleep(500);
        const before = statSync(logPath).size;
        await sleep(2500);
        logDuringPause = [before, statSync(logPath).size];
      }
    }
    const exit = await a.exit;
    assert.equal(got, BYTES, `received ${got} of ${BYTES} bytes`);
    assert.equal(h.digest('hex'), expectedDigest(), 'the bytes, in order');
    assert.equal(exit?.status, 0, 'the task finished by itself');
    assert.equal((await client.tasks.Wait({ containerId: id })).exitStatus, 0);
    // while the reader stood still the task stood still too (a few buffers' worth at most)
    assert.ok(logDuringPause[1]! - logDuringPause[0]! < 4 * 1024 * 1024, `the log grew ${logDuringPause[1]! - logDuringPause[0]!} bytes while the attacher did not read`);
    // and the log got every line ({"log":"…\n","stream":"stdout","time":"…"} per line)
    const log = readFileSync(logPath, 'utf8');
    assert.equal(log.split('\n').length - 1, LINES);
    assert.match(log.slice(log.lastIndexOf('{"log"')), new RegExp(`^\\{"log":"${String(LINES - 1).padStart(39, '0')}\\\\n"`));
    await client.tasks.Delete({ containerId: id });
  } finally {
    client.close();
    await kill9(core);
    for (const p of liveMatching(dir)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await sleep(100);
    const stateRoot = join(dir, 'state');
    if (existsSync(stateRoot)) spawnSync('sh', ['-c', `for r in ${stateRoot}/*/*/shim/runtime; do [ -d "$r" ] || continue; for c in "$r"/*; do ${RUNC} --root "$r" delete --force "$(basename "$c")" >/dev/null 2>&1; ${join(REPO, 'bin', 'berth-runtime')} --root "$r" delete --force "$(basename "$c")" >/dev/null 2>&1; done; done`]);
    removeBundle(rootfs);
    rmSync(dir, { recursive: true, force: true });
  }
});
