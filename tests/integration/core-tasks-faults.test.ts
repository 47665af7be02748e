/**
 * berth-core tasks under faults, on the real kernel: a forced delete, the
 * reason of a failed task, exec records across kill -9 of the core, logs
 * that end with their container, a shim killed during create, a missing
 * shim binary, a full disk under the log, two cores racing for one --state.
 * Needs root and `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { CoreCallError } from '../../src/core/errors.js';
import type { Container, Envelope } from '../../src/core/api/types.js';
import { withCoreEnv, specOf, procSpecOf, type CoreEnv } from '../helpers/core-env.js';
import { RUNC, skip, spawnCore, ready, kill9, alive, liveMatching } from '../helpers/core.js';


type Env = CoreEnv;

let seq = 0;
const uid = (name: string): string => `${name}-${process.pid}-${++seq}`;


function cgroupsOf(id: string): string {
  return spawnSync('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-type', 'd', '-name', `*${id}*`], { encoding: 'utf8' }).stdout.trim();
}

/** A core on temp dirs (runc and a slow-to-create runc in its table); everything is removed afterwards. */
async function withCore(fn: (env: Env) => Promise<void>): Promise<void> {
  await withCoreEnv('faults', (dir) => {
    const slow = join(dir, 'slow-runtime');
    // create waits 1 s before doing its work: a window to kill the shim in
    writeFileSync(slow, `#!/bin/sh\nfor a; do [ "$a" = create ] && sleep 1; done\nexec ${RUNC} "$@"\n`, { mode: 0o755 });
    return { slow: { path: slow } };
  }, fn);
}

const spec = specOf;
const procSpec = procSpecOf;

async function newContainer(env: Env, id: string, args: string[], runtime = ''): Promise<void> {
  await env.client.containers.Create({ container: { id, image: '', spec: spec(env, args), runtime: { name: runtime, options: Buffer.alloc(0) }, rootfs: env.rootfs.rootfs, snapshotKey: '', labels: {} } as unknown as Container });
}

async function runTask(env: Env, id: string, args: string[], runtime = ''): Promise<void> {
  await newContainer(env, id, args, runtime);
  await env.client.tasks.Create({ containerId: id });
  await env.client.tasks.Start({ containerId: id });
}

async function rejectsWith(p: Promise<unknown>, code: status, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CoreCallError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

async function assertGone(env: Env, id: string): Promise<void> {
  for (let i = 0; i < 50 && liveMatching(id).length > 0; i++) await sleep(50);
  assert.deepEqual(liveMatching(id), [], `a process of ${id} survived`);
  assert.equal(cgroupsOf(id), '', `a cgroup of ${id} survived`);
  assert.ok(!existsSync(join(env.dir, 'state', 'default', id)), `the state of ${id} survived`);
}

function collect(env: Env, topics: string[]): { events: Envelope[]; stop: () => void } {
  const events: Envelope[] = [];
  const s = env.client.subscribe({ topics });
  s.on('data', (e) => events.push(e));
  s.on('error', () => { /* cancelled or the core was killed */ });
  return { events, stop: () => s.cancel() };
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('delete --force kills a running and a paused task; a failed task reports its reason in State and List', { skip }, () => withCore(async (env) => {
  const run = uid('force-run');
  const paused = uid('force-paused');
  await runTask(env, run, ['sleep', '300']);
  await runTask(env, paused, ['sleep', '300'], 'runc');
  await env.client.tasks.Pause({ containerId: paused });
  await rejectsWith(env.client.tasks.Delete({ containerId: run }), status.FAILED_PRECONDITION, /it is running \(kill it first\)/);
  for (const id of [run, paused]) {
    const d = await env.client.tasks.Delete({ containerId: id, force: true });
    assert.equal(d.exitStatus, 137, id);
    await rejectsWith(env.client.tasks.State({ containerId: id }), status.NOT_FOUND, /not found/);
    await assertGone(env, id);
  }

  const lost = uid('reason');
  await runTask(env, lost, ['sleep', '300']);
  assert.equal((await env.client.tasks.State({ containerId: lost })).process!.reason, '');
  const shimPid = Number(readFileSync(join(env.dir, 'state', 'default', lost, 'shim', 'shim.pid'), 'utf8'));
  process.kill(shimPid, 'SIGKILL');
  await env.client.tasks.Wait({ containerId: lost });
  assert.equal((await env.client.tasks.State({ containerId: lost })).process!.reason, 'shim exited unexpectedly');
  const listed = (await env.client.tasks.List({})).tasks.find((t) => t.containerId === lost);
  assert.equal(listed?.reason, 'shim exited unexpectedly');
  await env.client.tasks.Delete({ containerId: lost, force: true });
  await assertGone(env, lost);
}));

test('exec records survive kill -9 of the core: finished, finishing while away, still running', { skip }, () => withCore(async (env) => {
  const id = uid('execs');
  await runTask(env, id, ['sleep', '300']);
  const exec = async (execId: string, args: string[]): Promise<void> => {
    await env.client.tasks.Exec({ containerId: id, execId, spec: procSpec(env, args) });
    await env.client.tasks.Start({ containerId: id, execId });
  };
  await exec('done', ['sh', '-c', 'exit 4']);
  assert.equal((await env.client.tasks.Wait({ containerId: id, execId: 'done' })).exitStatus, 4);
  await exec('away', ['sh', '-c', 'sleep 1; exit 6']);
  await exec('long', ['sleep', '300']);
  await env.client.tasks.Exec({ containerId: id, execId: 'added', spec: procSpec(env, ['true']) });
  await kill9(env.core);
  await sleep(1500);
  await env.start();
  const state = async (execId: string) => (await env.client.tasks.State({ containerId: id, execId })).process!;
  assert.equal((await state('done')).status, 'STOPPED');
  assert.equal((await state('done')).exitStatus, 4);
  assert.equal((await env.client.tasks.Wait({ containerId: id, execId: 'away' })).exitStatus, 6);
  assert.equal((await state('away')).status, 'STOPPED');
  const long = await state('long');
  assert.equal(long.status, 'RUNNING');
  assert.ok(long.pid > 0 && alive(long.pid));
  assert.equal((await state('added')).status, 'CREATED');
  await env.client.tasks.Start({ containerId: id, execId: 'added' });
  assert.equal((await env.client.tasks.Wait({ containerId: id, execId: 'added' })).exitStatus, 0);
  await rejectsWith(env.client.tasks.DeleteProcess({ containerId: id, execId: 'long' }), status.FAILED_PRECONDITION, /exec long .* is running/);
  await env.client.tasks.Kill({ containerId: id, execId: 'long', signal: 9 });
  assert.equal((await env.client.tasks.Wait({ containerId: id, execId: 'long' })).exitStatus, 137);
  // and once more across a restart: the stored exit is given without the shim
  await kill9(env.core);
  await env.start();
  assert.equal((await env.client.tasks.Wait({ containerId: id, execId: 'long' })).exitStatus, 137);
  await env.client.tasks.DeleteProcess({ containerId: id, execId: 'long' });
  await rejectsWith(env.client.tasks.State({ containerId: id, execId: 'long' }), status.NOT_FOUND, /exec long not found/);
  await env.client.tasks.Delete({ containerId: id, force: true });
  await assertGone(env, id);
}));

test('logs stay while the task exists and go with the container', { skip }, () => withCore(async (env) => {
  const id = uid('logs');
  await runTask(env, id, ['sh', '-c', 'echo kept']);
  await env.client.tasks.Exec({ containerId: id, execId: 'x', spec: procSpec(env, ['true']) }).catch(() => { /* the init may be gone already */ });
  await env.client.tasks.Wait({ containerId: id });
  const logDir = join(env.dir, 'root', 'default', id);
  const log = (await env.client.tasks.State({ containerId: id })).process!.stdout;
  await rejectsWith(env.client.containers.Delete({ id }), status.FAILED_PRECONDITION, new RegExp(`cannot delete container ${id}: it has a task`));
  await env.client.tasks.Delete({ containerId: id });
  assert.match(readFileSync(log, 'utf8'), /"log":"kept\\n"/, 'the log outlives the task');
  await env.client.containers.Delete({ id });
  assert.ok(!existsSync(logDir), 'the log directory went with the container');
  assert.ok(existsSync(join(env.dir, 'root', 'meta.db')), 'the metadata stays');
}));

test('a shim killed during create: a clear error and nothing left; a missing shim binary: a clear error', { skip }, () => withCore(async (env) => {
  const id = uid('shimdies');
  await newContainer(env, id, ['sleep', '300'], 'slow');
  const creating = env.client.tasks.Create({ containerId: id });
  let shim = 0;
  await until('the detached shim', () => {
    // the detached half of berth-shim leads its own session
    shim = liveMatching(`berth-shim --id ${id} `).find((p) => {
      const st = readFileSync(`/proc/${p}/stat`, 'utf8').slice(readFileSync(`/proc/${p}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
      return Number(st[3]) === p;
    }) ?? 0;
    return shim > 0;
  });
  process.kill(shim, 'SIGKILL');
  await rejectsWith(creating, status.INTERNAL, new RegExp(`cannot create task ${id}: the shim died while starting`));
  await rejectsWith(env.client.tasks.State({ containerId: id }), status.NOT_FOUND, /not found/);
  await assertGone(env, id);
  assert.deepEqual(readdirSync(join(env.dir, 'state', 'default')), [], 'no state left');
  assert.ok(!existsSync(join(env.dir, 'root', 'default', id)), 'no empty log left');
  // the container is intact: its task can be made now
  await env.client.containers.Update({ container: { id, runtime: { name: 'runc', options: Buffer.alloc(0) } } as unknown as Container, updateMask: ['runtime'] });
  await env.client.tasks.Create({ containerId: id });
  await env.client.tasks.Delete({ containerId: id });
  await assertGone(env, id);

  await kill9(env.core);
  await env.start({ BERTH_SHIM: join(env.dir, 'no-such-shim') });
  const missing = uid('noshim');
  await newContainer(env, missing, ['true']);
  await rejectsWith(env.client.tasks.Create({ containerId: missing }), status.NOT_FOUND, new RegExp(`cannot create task ${missing}: cannot start shim for container ${missing}: .*no-such-shim`));
  await rejectsWith(env.client.tasks.State({ containerId: missing }), status.NOT_FOUND, /not found/);
  await assertGone(env, missing);
}));

test('a full disk under the log: the task keeps running, exec works, the reason and an event say so, and it recovers', { skip }, () => withCore(async (env) => {
  const id = uid('fulldisk');
  const logDir = join(env.dir, 'root', 'default', id);
  mkdirSync(logDir, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'berth-test-logs', logDir], { encoding: 'utf8' });
  assert.equal(m.status, 0, m.stderr);
  env.mounts.push(logDir);
  const filler = join(logDir, 'filler');
  writeFileSync(filler, Buffer.alloc(64 * 1024, 1));
  const { events, stop } = collect(env, ['/tasks/log-error', '/tasks/log-recovered']);
  try {
    // 400 KiB at once (more than fits), then a numbered tick every 100 ms
    const line = 'x'.repeat(1000);
    await runTask(env, id, ['sh', '-c', `i=0; while [ $i -lt 400 ]; do echo ${line}; i=$((i+1)); done; n=0; while true; do n=$((n+1)); echo "tick $n"; sleep 0.1; done`]);
    await until('the reason log: no space left', async () => (await env.client.tasks.State({ containerId: id })).process!.reason === 'log: no space left');
    const st = (await env.client.tasks.State({ containerId: id })).process!;
    assert.equal(st.status, 'RUNNING');
    await until('the /tasks/log-error event', () => events.some((e) => e.topic === '/tasks/log-error'));
    assert.equal(JSON.parse(events.find((e) => e.topic === '/tasks/log-error')!.event.toString()).reason, 'log: no space left');
    await env.client.tasks.Exec({ containerId: id, execId: 'still', spec: procSpec(env, ['sh', '-c', 'exit 3']) });
    await env.client.tasks.Start({ containerId: id, execId: 'still' });
    assert.equal((await env.client.tasks.Wait({ containerId: id, execId: 'still' })).exitStatus, 3, 'exec works on a full disk');

    rmSync(filler);
    const sizeAfter = statSync(st.stdout).size;
    await until('the reason cleared', async () => (await env.client.tasks.State({ containerId: id })).process!.reason === '');
    await until('the /tasks/log-recovered event', () => events.some((e) => e.topic === '/tasks/log-recovered'));
    await until('ticks logged again', () => statSync(st.stdout).size > sizeAfter && /tick \d+/.test(readFileSync(st.stdout, 'utf8').slice(sizeAfter)));
  } finally {
    stop();
  }
  await env.client.tasks.Delete({ containerId: id, force: true });
  await assertGone(env, id);
  spawnSync('umount', [logDir]);
  env.mounts.pop();
  await env.client.containers.Delete({ id });
  assert.ok(!existsSync(logDir));
}));

test('two cores started at once on one --state: one serves, the other is refused; the lock dies with its holder', { skip }, () => withCore(async (env) => {
  await kill9(env.core);
  const a = spawnCore(env.dir, join(env.dir, 'a.sock'));
  const b = spawnCore(env.dir, join(env.dir, 'b.sock'));
  const outcome = await Promise.race([
    Promise.all([a.exited, b.exited]).then(() => 'both exited'),
    Promise.race([a.exited, b.exited]).then(() => sleep(2000)).then(() => 'one exited'),
  ]);
  assert.equal(outcome, 'one exited', `a: ${a.stderr()} b: ${b.stderr()}`);
  const [loser, winner] = a.proc.exitCode !== null ? [a, b] : [b, a];
  assert.equal(loser.proc.exitCode, 1);
  assert.match(loser.stderr(), /^berth-core: cannot start berth-core: another berth-core (\(pid \d+\) )?holds .*core\.lock\n$/);
  await ready(winner, winner === a ? join(env.dir, 'a.sock') : join(env.dir, 'b.sock'));
  await kill9(winner);
  // the kernel dropped the lock with its holder: a new core starts at once
  env.core = await ready(spawnCore(env.dir, env.address), env.address);
  await kill9(env.core);
}));
