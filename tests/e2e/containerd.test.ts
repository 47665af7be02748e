/**
 * berth-runtime under containerd, driven by ctr: `ctr run --runc-binary
 * bin/berth-runtime` through containerd's runc v2 shim. The private dockerd is
 * only used to build the busybox image, which is then saved and imported
 * into containerd. BERTH_E2E_RUNTIME=runc runs the same suite on runc.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engines, CTR_NAMESPACE, runtimeUnderTest, type Result } from '../helpers/engines.js';

const runtime = runtimeUnderTest();
let engines: Engines;
let image: string;
const T = { timeout: 90_000 };

before(async () => {
  assert.ok(existsSync(runtime.binary), `${runtime.binary} is missing: run npm run build first`);
  engines = await Engines.start({ dockerd: true, runtimes: {} });
  engines.buildImage();
  image = engines.importIntoContainerd();
});

after(async () => {
  if (!engines) return;
  await engines.stop();
  assert.deepEqual(engines.leftovers(), [], 'the private engines left something behind');
});

/** ctr in our namespace. */
const ctr = (args: string[], timeoutMs = 60_000): Result => engines.ctr(['-n', CTR_NAMESPACE, ...args], { timeoutMs });

/**
 * `ctr run` with the runtime under test. Its state, FIFOs and cgroup live
 * under the engines' own paths (ctr's defaults are /run/containerd/… and
 * /<namespace>/<id>), so stop() removes them and leftovers() sees them.
 */
function ctrRun(flags: string[], id: string, cmd: string[]): Result {
  return ctr(['run', '--fifo-dir', engines.fifoDir, '--cgroup', `${engines.cgroupParent}/${id}`, '--runc-binary', runtime.binary, '--runc-root', join(engines.dir, 'ctr-runtime-root'), ...flags, image, id, ...cmd]);
}

function explain(r: Result, id?: string): string {
  const log = id ? engines.runtimeLog(id, CTR_NAMESPACE) : '';
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}${log ? `\nruntime log: ${log}` : ''}`;
}

/** The STATUS column of `ctr task ls` for `id`, or '' when there is no such task. */
function taskStatus(id: string): string {
  const row = ctr(['task', 'ls']).stdout.split('\n').find((l) => l.split(/\s+/)[0] === id);
  return row ? row.trim().split(/\s+/)[2] ?? '' : '';
}

async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('ctr run --rm prints the output and returns the exit code', T, () => {
  const id = 'e2e-ctr-rm';
  const r = ctrRun(['--rm'], id, ['sh', '-c', 'echo from-ctr; exit 3']);
  assert.equal(r.code, 3, explain(r, id));
  assert.equal(r.stdout, 'from-ctr\n', explain(r, id));
  assert.equal(ctr(['containers', 'info', id]).code, 1, '--rm must remove the container');
});

describe('a detached ctr task', () => {
  const id = 'e2e-ctr-detached';
  after(() => {
    if (!engines) return;
    ctr(['task', 'delete', '-f', id]);
    ctr(['containers', 'delete', id]);
  });

  test('run -d leaves a running task', T, () => {
    const r = ctrRun(['-d'], id, ['sh', '-c', 'trap "exit 9" TERM; while true; do sleep 0.2; done']);
    assert.equal(r.code, 0, explain(r, id));
    assert.equal(taskStatus(id), 'RUNNING', explain(ctr(['task', 'ls']), id));
    const procs = join('/sys/fs/cgroup/pids', engines.cgroupParent, id, 'cgroup.procs');
    assert.ok(existsSync(procs), `the task's cgroup ${procs} is missing`);
    assert.ok(readFileSync(procs, 'utf8').trim().length > 0, `no process in ${procs}`);
  });

  test('task exec runs a process beside it', T, () => {
    const r = ctr(['task', 'exec', '--fifo-dir', engines.fifoDir, '--exec-id', 'e2e-exec', id, 'sh', '-c', 'echo in-task; exit 6']);
    assert.equal(r.code, 6, explain(r, id));
    assert.equal(r.stdout, 'in-task\n', explain(r, id));
  });

  test('task ps lists its init', T, () => {
    const r = ctr(['task', 'ps', id]);
    assert.equal(r.code, 0, explain(r, id));
    assert.ok(r.stdout.trim().split('\n').length >= 2, explain(r, id));
  });

  test('task pause and resume', T, () => {
    const p = ctr(['task', 'pause', id]);
    assert.equal(p.code, 0, explain(p, id));
    assert.equal(taskStatus(id), 'PAUSED');
    const r = ctr(['task', 'resume', id]);
    assert.equal(r.code, 0, explain(r, id));
    assert.equal(taskStatus(id), 'RUNNING');
  });

  test('task kill sends SIGTERM and the task stops with the trap\'s code', T, async () => {
    const r = ctr(['task', 'kill', id]);
    assert.equal(r.code, 0, explain(r, id));
    await until('the task to stop', 20_000, () => taskStatus(id) === 'STOPPED');
  });

  test('task delete reports the exit status and removes the task', T, () => {
    const r = ctr(['task', 'delete', id]);
    assert.equal(r.code, 0, explain(r, id));
    assert.match(r.stderr, /exit code 9/, explain(r, id));
    assert.equal(taskStatus(id), '');
    const c = ctr(['containers', 'delete', id]);
    assert.equal(c.code, 0, explain(c, id));
  });
});
