/**
 * The shim starts the writeback of a container's json-file log as it
 * writes (native/shim/jsonlog.c, every 8 MiB), so a chatty container does
 * not leave hundreds of MB dirty in the page cache for the unmount of its
 * root filesystem to flush (an overlayfs unmount syncs the filesystem under
 * it: the core's Tasks.Delete took ~230 ms after 500 MB of log).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxTar, dockerOk, layout, ready, skipBerthd, spawnBerthd, teardownBerthd } from '../helpers/berthd.js';

/** Dirty and under-writeback page cache of the whole machine (bytes). */
function unwritten(): number {
  const m = readFileSync('/proc/meminfo', 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(m)?.[1] ?? 0);
  return (kb('Dirty') + kb('Writeback')) * 1024;
}

test('a container that wrote 400 MB of log leaves little of it dirty', { skip: skipBerthd }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-writeback-'));
  const l = layout(dir);
  const b = await ready(spawnBerthd(l));
  try {
    dockerOk(b.sock, ['import', busyboxTar(dir), 'busybox']);
    const before = unwritten();
    // 80 MB in 17-byte lines: ~410 MB of json-file; the container then stays (its rootfs mounted)
    const id = dockerOk(b.sock, ['run', '-d', 'busybox', 'sh', '-c', "yes 'a line of text..' | head -c 80000000; sleep 60"]).trim();
    const path = dockerOk(b.sock, ['inspect', '-f', '{{.LogPath}}', id]).trim();
    let size = 0;
    for (let i = 0; i < 300 && size < 400e6; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try { size = statSync(path).size; } catch { /* not yet */ }
    }
    assert.ok(size >= 400e6, `the log grew to ${size} bytes`);
    await new Promise((r) => setTimeout(r, 1000)); // the writeback started last
    const dirty = unwritten() - before;
    assert.ok(dirty < size / 4, `${Math.round(dirty / 1e6)} MB of the machine's page cache is still unwritten after a ${Math.round(size / 1e6)} MB log`);
    dockerOk(b.sock, ['rm', '-f', id]);
  } finally {
    assert.deepEqual(await teardownBerthd(b, l, dir), []);
  }
});
