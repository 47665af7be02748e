/**
 * The attach warmer (src/core/tasks/attach-warmer.ts) on the real kernel:
 * while it is held, moving a new process into a cgroup skips the RCU grace
 * period the first cgroup.procs write otherwise waits for, and the process
 * holding the warmer stays in the cgroups it was in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nullLogger } from '../../src/common/log.js';
import { AttachWarmer, ownProcsFile } from '../../src/core/tasks/attach-warmer.js';

const median = (a: number[]): number => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]!; };

/** A fresh cgroup beside the one the warmer writes to (same hierarchy). */
function testCgroup(): string | undefined {
  const own = ownProcsFile(readFileSync('/proc/self/cgroup', 'utf8'));
  if (!own) return undefined;
  const dir = join(own, '..', `berth-warmer-test-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function moveTime(cgroup: string, warmer: AttachWarmer | undefined): Promise<number> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await sleep(60); // the lock's fast state from earlier writes has lapsed
    const release = warmer?.hold();
    if (release) await sleep(25); // the first write (one grace period) is done
    const t0 = process.hrtime.bigint();
    writeFileSync(join(cgroup, 'cgroup.procs'), String(child.pid));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    release?.();
    return ms;
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

test('a held warmer makes the move of a new process into a cgroup fast, and does not move its own process', { skip: !existsSync('/sys/fs/cgroup') && 'no cgroups' }, async () => {
  const cgroup = testCgroup();
  if (!cgroup) return;
  const before = readFileSync('/proc/self/cgroup', 'utf8');
  const warmer = new AttachWarmer(nullLogger);
  const cold: number[] = [];
  const warm: number[] = [];
  try {
    for (let i = 0; i < 7; i++) {
      cold.push(await moveTime(cgroup, undefined));
      warm.push(await moveTime(cgroup, warmer));
    }
  } finally {
    warmer.close();
    await sleep(50);
    rmdirSync(cgroup);
  }
  assert.equal(readFileSync('/proc/self/cgroup', 'utf8'), before);
  // a kernel without the slow path (cgroup favordynmods) has nothing to win
  if (median(cold) < 1) return;
  assert.ok(median(warm) < median(cold) / 3, `warm ${warm.map((x) => x.toFixed(2)).join(' ')} vs cold ${cold.map((x) => x.toFixed(2)).join(' ')} ms`);
});
