/**
 * berth-core tasks over berth-shim on the real kernel: lifecycle with the
 * json log checked, exec, kill, pause, both runtimes (bin/berth-runtime and
 * Debian's runc), kill -9 of the core while containers run and exit, kill -9
 * of a shim, and bad input. Needs root and `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { CoreClient } from '../../src/core/client.js';
import { CoreCallError } from '../../src/core/errors.js';
import type { Container, Envelope } from '../../src/core/api/types.js';
import { defaultConfig, makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { REPO } from '../helpers/runtime.js';
import { RUNC, kill9, liveMatching, ready, skip, spawnCore, type Core } from '../helpers/core.js';

interface Env {
  dir: string; address: string; client: CoreClient; rootfs: Bundle;
  start(): Promise<Core>; core: Core; events: Envelope[];
}

let seq = 0;
const uid = (name: string): string => `${name}-${process.pid}-${++seq}`;

function cgroupsOf(id: string): string {
  return spawnSync('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-type', 'd', '-name', `*${id}*`], { encoding: 'utf8' }).stdout.trim();
}

/** A core on temp dirs with runc and two broken runtimes in its table; everything is removed afterwards. */
async function withCore(fn: (env: Env) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tasks-it-'));
  const broken = join(dir, 'broken-runtime');
  writeFileSync(broken, '#!/bin/sh\nfor a; do [ "$a" = create ] && { echo "broken runtime refuses to create" >&2; exit 1; }; done\nexit 0\n', { mode: 0o755 });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    runtimes: { runc: { path: RUNC }, ghost: { path: join(dir, 'no-such-runtime') }, broken: { path: broken } },
  }));
  const address = join(dir, 'core.sock');
  const rootfs = makeBundle(['true'], 'berth-tasks-rootfs-');
  const cores: Core[] = [];
  const env: Env = {
    dir, address, rootfs, events: [], client: undefined as unknown as CoreClient, core: undefined as unknown as Core,
    start: async () => { const c = await ready(spawnCore(dir, address), address); cores.push(c); env.core = c; return c; },
  };
  try {
    await env.start();
    env.client = new CoreClient(address);
    await fn(env);
  } finally {
    env.client?.close();
    for (const c of cores) await kill9(c);
    // whatever a failed test left: its shims and containers
    for (const p of liveMatching(dir)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await sleep(100);
    const stateRoot = join(dir, 'state');
    if (existsSync(stateRoot)) spawnSync('sh', ['-c', `for r in ${stateRoot}/*/*/shim/runtime; do [ -d "$r" ] || continue; for c in "$r"/*; do ${RUNC} --root "$r" delete --force "$(basename "$c")" >/dev/null 2>&1; ${join(REPO, 'bin', 'berth-runtime')} --root "$r" delete --force "$(basename "$c")" >/dev/null 2>&1; done; done`]);
    removeBundle(rootfs);
    rmSync(dir, { recursive: true, force: true });
  }
}

function spec(env: Env, args: string[]): Buffer {
  const c = defaultConfig(args);
  c.root.path = env.rootfs.rootfs;
  return Buffer.from(JSON.stringify(c));
}

async function newContainer(env: Env, id: string, args: string[], runtime = '', labels: Record<string, string> = {}): Promise<void> {
  await env.client.containers.Create({ container: { id, image: '', spec: spec(env, args), runtime: { name: runtime, options: Buffer.alloc(0) }, rootfs: env.rootfs.rootfs, snapshotKey: '', labels } as unknown as Container });
}

function logText(path: string): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { log: string }).log).join('');
}

async function rejectsWith(p: Promise<unknown>, code: status, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CoreCallError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

/** Nothing of the task is left: no process, no cgroup, no state directory. */
async function assertGone(env: Env, id: string): Promise<void> {
  for (let i = 0; i < 50 && liveMatching(id).length > 0; i++) await sleep(50);
  assert.deepEqual(liveMatching(id), [], `a process of ${id} survived`);
  assert.equal(cgroupsOf(id), '', `a cgroup of ${id} survived`);
  // the bundle's files go right after Tasks.Delete answers (manager.ts, removeBundleLater)
  const state = join(env.dir, 'state', 'default', id);
  for (let i = 0; i < 50 && existsSync(state); i++) await sleep(20);
  assert.ok(!existsSync(state), `the state of ${id} survived`);
}

function subscribe(env: Env): () => void {
  const s = env.client.subscribe({ topics: ['/tasks'] });
  s.on('data', (e) => env.events.push(e));
  s.on('error', () => { /* the core was killed */ });
  return () => s.cancel();
}

async function lifecycle(env: Env, runtime: string): Promise<void> {
  const stop = subscribe(env);
  await sleep(100);
  const id = uid(`life-${runtime || 'berth'}`);
  await newContainer(env, id, ['sh', '-c', 'echo out-line; echo err-line >&2; exit 3'], runtime);
  const created = await env.client.tasks.Create({ containerId: id });
  assert.ok(created.pid > 0);
  assert.equal((await env.client.tasks.State({ containerId: id })).process!.status, 'CREATED');
  await rejectsWith(env.client.tasks.Create({ containerId: id }), status.ALREADY_EXISTS, new RegExp(`task ${id} already exists`));
  await env.client.tasks.Start({ containerId: id });
  const w = await env.client.tasks.Wait({ containerId: id });
  assert.equal(w.exitStatus, 3);
  assert.ok(w.exitedAt && Number(w.exitedAt.seconds) > 0);
  const st = (await env.client.tasks.State({ containerId: id })).process!;
  assert.equal(st.status, 'STOPPED');
  assert.equal(st.exitStatus, 3);
  const logPath = join(env.dir, 'root', 'default', id, `${id}-json.log`);
  assert.equal(st.stdout, logPath);
  const lines = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { log: string; stream: string; time: string });
  assert.deepEqual(lines.map((l) => [l.stream, l.log]).sort(), [['stderr', 'err-line\n'], ['stdout', 'out-line\n']]);
  assert.match(lines[0]!.time, /\.\d{9}Z$/);
  const d = await env.client.tasks.Delete({ containerId: id });
  assert.equal(d.exitStatus, 3);
  await rejectsWith(env.client.tasks.State({ containerId: id }), status.NOT_FOUND, /task .* not found/);
  await assertGone(env, id);
  await sleep(100);
  stop();
  const topics = env.events.filter((e) => JSON.parse(e.event.toString()).containerId === id).map((e) => e.topic);
  assert.deepEqual(topics, ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
}

test('create, start, wait, delete with the output in the json log (berth-runtime)', { skip }, () => withCore((env) => lifecycle(env, '')));

test('the same lifecycle with Debian runc', { skip: skip || (!existsSync(RUNC) && 'no runc') }, () => withCore((env) => lifecycle(env, 'runc')));

for (const runtime of ['', 'runc']) {
  test(`exec, pause, resume, metrics, kill (${runtime || 'berth-runtime'})`, { skip }, () => withCore(async (env) => {
    const id = uid('exec');
    await newContainer(env, id, ['sleep', '300'], runtime);
    await env.client.tasks.Create({ containerId: id });
    await env.client.tasks.Start({ containerId: id });
    const proc = JSON.parse(spec(env, []).toString()).process;
    proc.args = ['sh', '-c', 'echo from-exec; exit 5'];
    await env.client.tasks.Exec({ containerId: id, execId: 'e1', spec: Buffer.from(JSON.stringify(proc)) });
    await rejectsWith(env.client.tasks.Exec({ containerId: id, execId: 'e1', spec: Buffer.from(JSON.stringify(proc)) }), status.ALREADY_EXISTS, /exec e1 already exists/);
    const { pid } = await env.client.tasks.Start({ containerId: id, execId: 'e1' });
    assert.ok(pid > 0);
    assert.equal((await env.client.tasks.Wait({ containerId: id, execId: 'e1' })).exitStatus, 5);
    const es = (await env.client.tasks.State({ containerId: id, execId: 'e1' })).process!;
    assert.equal(es.status, 'STOPPED');
    assert.equal(logText(es.stdout), 'from-exec\n');
    await env.client.tasks.DeleteProcess({ containerId: id, execId: 'e1' });

    await env.client.tasks.Pause({ containerId: id });
    assert.equal((await env.client.tasks.State({ containerId: id })).process!.status, 'PAUSED');
    await env.client.tasks.Resume({ containerId: id });
    assert.equal((await env.client.tasks.State({ containerId: id })).process!.status, 'RUNNING');
    const m = await env.client.tasks.Metrics({ filters: [`id==${id}`] });
    assert.equal(m.metrics.length, 1);
    assert.ok(JSON.parse(m.metrics[0]!.data.toString()), 'metrics are JSON');
    await env.client.tasks.Update({ containerId: id, resources: Buffer.from(JSON.stringify({ pids: { limit: 77 } })) });
    const pidsMax = spawnSync('sh', ['-c', `cat $(find /sys/fs/cgroup/pids -maxdepth 3 -type d -name '*${id}*')/pids.max`], { encoding: 'utf8' }).stdout.trim();
    assert.equal(pidsMax, '77', 'update reached the cgroup');
    await rejectsWith(env.client.tasks.Update({ containerId: id, resources: Buffer.from('{') }), status.INVALID_ARGUMENT, /resources are not valid JSON/);
    await rejectsWith(env.client.tasks.Delete({ containerId: id }), status.FAILED_PRECONDITION, /is running \(kill it first\)/);
    await env.client.tasks.Kill({ containerId: id, signal: 9 });
    assert.equal((await env.client.tasks.Wait({ containerId: id })).exitStatus, 137);
    await env.client.tasks.Delete({ containerId: id });
    await assertGone(env, id);
  }));
}

test('kill -9 of the core: tasks keep running and exiting, the restarted core reports them truly, no log line lost', { skip }, () => withCore(async (env) => {
  const loop = uid('loop');
  const ends = uid('ends');
  const rc = uid('runc-loop');
  // numbered lines every 20 ms until killed
  const printer = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "line $i"; sleep 0.02; done'];
  await newContainer(env, loop, printer);
  await newContainer(env, rc, printer, 'runc');
  await newContainer(env, ends, ['sh', '-c', 'sleep 1; echo bye; exit 7']);
  for (const id of [loop, rc, ends]) {
    await env.client.tasks.Create({ containerId: id });
    await env.client.tasks.Start({ containerId: id });
  }
  await sleep(300);
  await kill9(env.core);
  await sleep(1500); // `ends` exits while the core is away; the loops keep printing
  await env.start();
  const tasks = Object.fromEntries((await env.client.tasks.List({})).tasks.map((t) => [t.containerId, t]));
  assert.equal(tasks[loop]?.status, 'RUNNING');
  assert.equal(tasks[rc]?.status, 'RUNNING');
  assert.equal(tasks[ends]?.status, 'STOPPED');
  assert.equal(tasks[ends]?.exitStatus, 7);
  assert.equal((await env.client.tasks.Wait({ containerId: ends })).exitStatus, 7);
  // exec and kill still work
  for (const id of [loop, rc]) {
    const proc = JSON.parse(spec(env, []).toString()).process;
    proc.args = ['true'];
    await env.client.tasks.Exec({ containerId: id, execId: 'after', spec: Buffer.from(JSON.stringify(proc)) });
    await env.client.tasks.Start({ containerId: id, execId: 'after' });
    assert.equal((await env.client.tasks.Wait({ containerId: id, execId: 'after' })).exitStatus, 0);
    await env.client.tasks.Kill({ containerId: id, signal: 9, all: true });
    assert.equal((await env.client.tasks.Wait({ containerId: id })).exitStatus, 137);
    const st = (await env.client.tasks.State({ containerId: id })).process!;
    const lines = logText(st.stdout).split('\n').filter(Boolean);
    const last = Number(/line (\d+)/.exec(lines[lines.length - 1]!)?.[1]);
    assert.ok(last > 50, `the loop printed while the core was away (${last} lines)`);
    assert.equal(lines.length, last, 'every numbered line is in the log');
    assert.deepEqual(lines, Array.from({ length: last }, (_, i) => `line ${i + 1}`));
  }
  for (const id of [loop, rc, ends]) { await env.client.tasks.Delete({ containerId: id }); await assertGone(env, id); }
}));

test('kill -9 of a shim: the task is reported failed with a reason and cleaned up', { skip }, () => withCore(async (env) => {
  const id = uid('lost');
  await newContainer(env, id, ['sleep', '300']);
  await env.client.tasks.Create({ containerId: id });
  await env.client.tasks.Start({ containerId: id });
  const shimPid = Number(readFileSync(join(env.dir, 'state', 'default', id, 'shim', 'shim.pid'), 'utf8'));
  assert.ok(shimPid > 0);
  const events: Envelope[] = [];
  const s = env.client.subscribe({ topics: ['/tasks/exit'] });
  s.on('data', (e) => events.push(e));
  await sleep(100);
  process.kill(shimPid, 'SIGKILL');
  const w = await env.client.tasks.Wait({ containerId: id });
  assert.equal(w.exitStatus, 255);
  assert.equal((await env.client.tasks.State({ containerId: id })).process!.status, 'STOPPED');
  await rejectsWith(env.client.tasks.Kill({ containerId: id, signal: 9 }), status.FAILED_PRECONDITION, /it failed: shim exited unexpectedly/);
  await sleep(100);
  s.cancel();
  assert.equal(JSON.parse(events[0]!.event.toString()).reason, 'shim exited unexpectedly');
  await assertGone(env, id);
  // berth-ctr shows the exit code and the reason
  const ls = spawnSync(join(REPO, 'bin', 'berth-ctr'), ['--address', env.address, 'tasks', 'ls'], { encoding: 'utf8', timeout: 30_000 });
  assert.match(ls.stdout, /^TASK\s+PID\s+STATUS\s+EXIT\s+EXITED\s+REASON$/m, ls.stderr);
  assert.match(ls.stdout, new RegExp(`^${id}\\s+\\d+\\s+STOPPED\\s+255\\s+\\S+Z\\s+shim exited unexpectedly$`, 'm'));
  await env.client.tasks.Delete({ containerId: id });
  await rejectsWith(env.client.tasks.State({ containerId: id }), status.NOT_FOUND, /not found/);
}));

test('bad input: unknown container, missing runtime binary, failing create; nothing left behind', { skip }, () => withCore(async (env) => {
  await rejectsWith(env.client.tasks.Create({ containerId: 'nope' }), status.NOT_FOUND, /container nope not found in namespace default/);
  await rejectsWith(env.client.tasks.Start({ containerId: 'nope' }), status.NOT_FOUND, /task nope not found/);
  await rejectsWith(env.client.tasks.Create({ containerId: '../x' }), status.INVALID_ARGUMENT, /invalid container id/);

  const ghost = uid('ghost');
  await newContainer(env, ghost, ['true'], 'ghost');
  await rejectsWith(env.client.tasks.Create({ containerId: ghost }), status.NOT_FOUND, new RegExp(`cannot create task ${ghost}: cannot use runtime .*no-such-runtime`));
  const broken = uid('broken');
  await newContainer(env, broken, ['true'], 'broken');
  await rejectsWith(env.client.tasks.Create({ containerId: broken }), status.INTERNAL, /broken runtime refuses to create/);
  for (const id of [ghost, broken]) {
    await rejectsWith(env.client.tasks.State({ containerId: id }), status.NOT_FOUND, /not found/);
    await assertGone(env, id);
  }
  assert.deepEqual(readdirSync(join(env.dir, 'state', 'default')), [], 'no state left');
  // the same ids work once the container is fixed
  await env.client.containers.Update({ container: { id: ghost, runtime: { name: '', options: Buffer.alloc(0) } } as unknown as Container, updateMask: ['runtime'] });
  await env.client.tasks.Create({ containerId: ghost });
  await env.client.tasks.Delete({ containerId: ghost });
  await assertGone(env, ghost);
}));

test('berth-ctr run, tasks exec, ls, rm -f', { skip }, () => withCore(async (env) => {
  const ctr = (...args: string[]) => spawnSync(join(REPO, 'bin', 'berth-ctr'), ['--address', env.address, ...args], { encoding: 'utf8', timeout: 30_000 });
  const id = uid('ctr');
  const r = ctr('run', '--rm', '--rootfs', env.rootfs.rootfs, id, '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 4');
  assert.equal(r.status, 4, r.stderr);
  assert.equal(r.stdout, 'hi\n');
  assert.equal(r.stderr, 'oops\n');
  assert.equal(ctr('containers', 'ls', '-q').stdout, '', '--rm removed the container');
  const d = ctr('run', '-d', '--rootfs', env.rootfs.rootfs, id, '--', 'sleep', '300');
  assert.equal(d.status, 0, d.stderr);
  assert.match(ctr('tasks', 'ls').stdout, new RegExp(`${id}\\s+\\d+\\s+RUNNING`));
  const e = ctr('tasks', 'exec', '--exec-id', 'x1', id, '--', 'sh', '-c', 'echo in-exec; exit 2');
  assert.equal(e.status, 2, e.stderr);
  assert.equal(e.stdout, 'in-exec\n');
  const rm = ctr('tasks', 'rm', id);
  assert.equal(rm.status, 1);
  assert.match(rm.stderr, /^berth-ctr: cannot delete task .* it is running \(kill it first\)\n$/);
  assert.equal(ctr('tasks', 'rm', '-f', id).status, 0);
  assert.equal(ctr('containers', 'rm', id).status, 0);
  await assertGone(env, id);
  const bad = ctr('tasks', 'start', 'nope');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /container nope not found/);
}));

test('a shim killed while the core is down: the restarted core reports the task failed and cleans up', { skip }, () => withCore(async (env) => {
  const id = uid('lost-away');
  await newContainer(env, id, ['sleep', '300']);
  await env.client.tasks.Create({ containerId: id });
  await env.client.tasks.Start({ containerId: id });
  const shimPid = Number(readFileSync(join(env.dir, 'state', 'default', id, 'shim', 'shim.pid'), 'utf8'));
  await kill9(env.core);
  process.kill(shimPid, 'SIGKILL');
  await sleep(200);
  await env.start();
  const st = (await env.client.tasks.State({ containerId: id })).process!;
  assert.equal(st.status, 'STOPPED');
  assert.equal(st.exitStatus, 255);
  await rejectsWith(env.client.tasks.Start({ containerId: id }), status.FAILED_PRECONDITION, /it failed: shim exited unexpectedly/);
  await assertGone(env, id);
  await env.client.tasks.Delete({ containerId: id });
}));
