/**
 * The shim's round-trip savings for the core's start path, on the real
 * kernel with bin/berth-runtime: the ready verdict carries the init's pid
 * (no STATE after startShim), and DELETE with EXIT_AFTER ends the shim in
 * the same round trip (no SHUTDOWN), while a plain DELETE still leaves it
 * serving until SHUTDOWN. A DELETE cut short (its runtime call killed
 * after the container went) can be sent again: it still succeeds; a
 * runtime delete ended by kill -9 is run again. A START whose runtime call
 * was cut off after the process went is a start.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { REPO, RUNTIME, isRoot } from '../helpers/runtime.js';
import { ShimClient, startShim, type StartShimOptions } from '../../src/shim/client.js';

const SHIM = join(REPO, 'bin', 'berth-shim');
const skip = !isRoot || !existsSync(SHIM) ? 'needs root and bin/berth-shim (npm run build)' : false;

/** A process that exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
  return !alive(pid);
}

let seq = 0;
async function withShim(fn: (o: StartShimOptions, shimPid: number, initPid: number) => Promise<void>, runtime = RUNTIME, args = ['/bin/true']): Promise<void> {
  const bundle: Bundle = makeBundle(args, 'berth-shim-life-');
  const dir = mkdtempSync(join(tmpdir(), 'berth-shim-life-'));
  const o: StartShimOptions = {
    binary: SHIM, id: `shimlife-${process.pid}-${++seq}`, bundle: bundle.dir, runtime,
    socket: join(dir, 'shim.sock'), stateDir: join(dir, 'state'), log: join(dir, 'ctr.log'),
  };
  let shimPid = 0;
  try {
    const s = await startShim(o);
    shimPid = s.pid;
    await fn(o, s.pid, s.initPid);
  } finally {
    const root = join(o.stateDir, 'runtime');
    if (existsSync(root)) spawnSync(RUNTIME, ['--root', root, 'delete', '--force', o.id], { stdio: 'ignore' });
    if (shimPid > 0 && alive(shimPid)) process.kill(shimPid, 'SIGKILL');
    removeBundle(bundle);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('berth-shim lifecycle round trips', { skip }, () => {
  test('the ready verdict carries the init pid that STATE reports', async () => {
    await withShim(async (o, shimPid, initPid) => {
      assert.ok(shimPid > 0);
      assert.ok(initPid > 0, 'startShim gave no init pid');
      const state = await ShimClient.at(o.socket).state();
      assert.equal(state.status, 'created');
      assert.equal(initPid, state.pid);
      assert.ok(alive(initPid), 'the init the verdict names is not alive');
    });
  });

  test('DELETE with EXIT_AFTER ends the shim in the same round trip', async () => {
    await withShim(async (o, shimPid) => {
      const c = ShimClient.at(o.socket);
      await c.start();
      assert.equal((await c.wait()).status, 0);
      const { exited } = await c.delete({ exit: true });
      assert.equal(exited, true);
      assert.ok(await gone(shimPid), 'the shim is still running after DELETE with EXIT_AFTER');
      assert.equal(existsSync(o.socket), false, 'the socket is left');
      assert.equal(existsSync(o.stateDir), false, 'the state dir is left');
    });
  });

  test('DELETE succeeds when an earlier delete, killed half-way, removed the container or part of its state', async () => {
    for (const cut of ['whole', 'state.json'] as const) {
      await withShim(async (o, shimPid) => {
        const c = ShimClient.at(o.socket);
        await c.start();
        assert.equal((await c.wait()).status, 0);
        const root = join(o.stateDir, 'runtime');
        if (cut === 'whole') {
          const r = spawnSync(RUNTIME, ['--root', root, 'delete', o.id], { encoding: 'utf8' });
          assert.equal(r.status, 0, r.stderr);
        } else {
          rmSync(join(root, o.id, 'state.json'));
        }
        const { exited } = await c.delete({ exit: true });
        assert.equal(exited, true, `after a cut of ${cut}`);
        assert.ok(await gone(shimPid), 'the shim is still running');
        assert.equal(existsSync(join(root, o.id)), false, `the runtime's state is left after a cut of ${cut}`);
      });
    }
  });

  test('DELETE runs the runtime again when a kill -9 ends its delete', async () => {
    // a runtime whose first delete is killed before it does anything, as a stray SIGKILL would
    const dir = mkdtempSync(join(tmpdir(), 'berth-shim-killed-'));
    const wrapper = join(dir, 'runtime');
    const mark = join(dir, 'killed-once');
    writeFileSync(wrapper, `#!/bin/sh\nfor a in "$@"; do if [ "$a" = delete ] && [ ! -e ${mark} ]; then : > ${mark}; kill -9 $$; fi; done\nexec ${RUNTIME} "$@"\n`, { mode: 0o755 });
    try {
      await withShim(async (o, shimPid) => {
        const c = ShimClient.at(o.socket);
        await c.start();
        await c.wait();
        const { exited } = await c.delete({ exit: true });
        assert.equal(exited, true);
        assert.ok(existsSync(mark), 'the first delete was not killed');
        assert.ok(await gone(shimPid));
        assert.equal(existsSync(join(o.stateDir, 'runtime', o.id)), false, "the runtime's state is left");
      }, wrapper);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a START whose runtime call is cut off after the process went reports the task started', async () => {
    // a runtime killed right after its start let the process go, as a fast-path start is when the core dies under it
    const dir = mkdtempSync(join(tmpdir(), 'berth-shim-cut-start-'));
    const wrapper = join(dir, 'runtime');
    writeFileSync(wrapper, `#!/bin/sh\n${RUNTIME} "$@"; rc=$?\nfor a in "$@"; do if [ "$a" = start ]; then kill -9 $$; fi; done\nexit $rc\n`, { mode: 0o755 });
    try {
      await withShim(async (o, _shimPid, initPid) => {
        const c = ShimClient.at(o.socket);
        await c.start();
        const st = await c.state();
        assert.equal(st.status, 'running');
        assert.equal(st.pid, initPid);
        assert.ok(alive(initPid), 'the init runs');
        await c.kill(9, false);
        await c.wait();
        const { exited } = await c.delete({ exit: true });
        assert.equal(exited, true);
      }, wrapper, ['sleep', '300']);
      // a start that did not happen is still an error
      const failing = join(dir, 'failing');
      writeFileSync(failing, `#!/bin/sh\nfor a in "$@"; do if [ "$a" = start ]; then echo "start refused" >&2; exit 1; fi; done\nexec ${RUNTIME} "$@"\n`, { mode: 0o755 });
      await withShim(async (o) => {
        const c = ShimClient.at(o.socket);
        await assert.rejects(c.start(), /start refused/);
        assert.equal((await c.state()).status, 'created');
      }, failing, ['sleep', '300']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a plain DELETE keeps the shim until SHUTDOWN', async () => {
    await withShim(async (o, shimPid) => {
      const c = ShimClient.at(o.socket);
      await c.start();
      await c.wait();
      assert.deepEqual(await c.delete(), { exited: false });
      await sleep(100);
      assert.ok(alive(shimPid), 'the shim exited without being asked');
      assert.equal((await c.state()).status, 'deleted');
      await c.shutdown();
      assert.ok(await gone(shimPid));
    });
  });
});
