/**
 * Tasks.Attach on the real kernel: a task created with stdin running `cat`
 * echoes what is written and exits on CloseIO; two attachers see the same
 * output; attach to an exec with stdin; attach after kill -9 and restart of
 * the core; the paused status (frozen behind the core's back) through State;
 * attach with logs meeting the live output exactly (the shim's seam): lines
 * half written for long, fast output, a rotating log.
 * Needs root, runc and `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { CoreAttachment } from '../../src/core/attachment.js';

import type { Container } from '../../src/core/api/types.js';
import { REPO } from '../helpers/runtime.js';
import { withCoreEnv, specOf, procSpecOf, type CoreEnv } from '../helpers/core-env.js';
import { skip, kill9 } from '../helpers/core.js';


type Env = CoreEnv;

let seq = 0;
const uid = (name: string): string => `${name}-${process.pid}-${++seq}`;



/** A core on temp dirs (runc in its table); everything is removed afterwards. */
async function withCore(fn: (env: Env) => Promise<void>): Promise<void> {
  await withCoreEnv('attach', () => ({}), fn);
}
const spec = specOf;
const procSpec = procSpecOf;

async function runTask(env: Env, id: string, args: string[], stdin: boolean, labels: Record<string, string> = {}): Promise<void> {
  await env.client.containers.Create({ container: { id, image: '', spec: spec(env, args), runtime: { name: '', options: Buffer.alloc(0) }, rootfs: env.rootfs.rootfs, snapshotKey: '', labels } as unknown as Container });
  await env.client.tasks.Create({ containerId: id, stdin: stdin ? 'attach' : '' });
  await env.client.tasks.Start({ containerId: id });
}

/** Collects an attachment's stdout as text. */
function reader(a: CoreAttachment): { text: () => string; done: Promise<void> } {
  let out = '';
  const done = (async () => { for await (const c of a) if (c.stream === 'stdout') out += c.data.toString(); })();
  return { text: () => out, done };
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('a task with stdin running cat echoes what Attach writes, to two attachers, and exits on CloseIO', { skip }, () => withCore(async (env) => {
  const id = uid('cat');
  await runTask(env, id, ['cat'], true);
  assert.equal((await env.client.tasks.State({ containerId: id })).process!.stdin, 'attach');
  const a = await env.client.attach({ containerId: id, stdin: true });
  const b = await env.client.attach({ containerId: id });
  const ra = reader(a);
  const rb = reader(b);
  await a.write('hello\n');
  await until('the echo on both', () => ra.text() === 'hello\n' && rb.text() === 'hello\n');
  await a.write('again\n');
  await until('the second echo', () => ra.text() === 'hello\nagain\n' && rb.text().endsWith('again\n'));
  await env.client.tasks.CloseIO({ containerId: id, stdin: true });
  const [xa, xb] = await Promise.all([a.exit, b.exit]);
  assert.equal(xa?.status, 0);
  assert.equal(xb?.status, 0);
  await Promise.all([ra.done, rb.done]);
  assert.equal((await env.client.tasks.Wait({ containerId: id })).exitStatus, 0);
  assert.match(readFileSync((await env.client.tasks.State({ containerId: id })).process!.stdout, 'utf8'), /"log":"again\\n"/);
  await env.client.tasks.Delete({ containerId: id });
}));

test('attach refuses stdin of a task created without it, and a task that is not there', { skip }, () => withCore(async (env) => {
  const id = uid('nostdin');
  await runTask(env, id, ['sleep', '60'], false);
  await assert.rejects(env.client.attach({ containerId: id, stdin: true }), /stdin/);
  await assert.rejects(env.client.attach({ containerId: uid('absent') }), /not found/);
  await env.client.tasks.Delete({ containerId: id, force: true });
}));

test('attach to an exec with stdin: input in, output out, its exit last; DeleteProcess forgets it', { skip }, () => withCore(async (env) => {
  const id = uid('exec');
  await runTask(env, id, ['sleep', '60'], false);
  await env.client.tasks.Exec({ containerId: id, execId: 'e1', stdin: 'attach', spec: procSpec(env, ['sh', '-c', 'read x; echo "got $x"; echo oops >&2; exit 4']) });
  await env.client.tasks.Start({ containerId: id, execId: 'e1' });
  const a = await env.client.attach({ containerId: id, execId: 'e1', stdin: true });
  const chunks: { stream: string; data: string }[] = [];
  const done = (async () => { for await (const c of a) chunks.push({ stream: c.stream, data: c.data.toString() }); })();
  await a.write('abc\n');
  const x = await a.exit;
  await done;
  assert.equal(x?.status, 4);
  assert.equal(chunks.filter((c) => c.stream === 'stdout').map((c) => c.data).join(''), 'got abc\n');
  assert.equal(chunks.filter((c) => c.stream === 'stderr').map((c) => c.data).join(''), 'oops\n');
  assert.equal((await env.client.tasks.Wait({ containerId: id, execId: 'e1' })).exitStatus, 4);
  await env.client.tasks.DeleteProcess({ containerId: id, execId: 'e1' });
  // the shim forgot it too: an attach to it is refused by the shim, not only by the core
  await env.client.tasks.Exec({ containerId: id, execId: 'e1', spec: procSpec(env, ['true']) });
  await env.client.tasks.Start({ containerId: id, execId: 'e1' });
  assert.equal((await env.client.tasks.Wait({ containerId: id, execId: 'e1' })).exitStatus, 0);
  await env.client.tasks.Delete({ containerId: id, force: true });
}));

test('attach after kill -9 and restart of the core', { skip }, () => withCore(async (env) => {
  const id = uid('restart');
  await runTask(env, id, ['cat'], true);
  await kill9(env.core);
  await env.start();
  // a stream is not retried by the channel: let it connect to the new core first
  await env.client.waitForReady();
  const a = await env.client.attach({ containerId: id, stdin: true });
  const r = reader(a);
  await a.write('after restart\n');
  await until('the echo', () => r.text() === 'after restart\n');
  await a.closeStdin();
  assert.equal((await a.exit)?.status, 0);
  assert.equal((await env.client.tasks.Wait({ containerId: id })).exitStatus, 0);
  await env.client.tasks.Delete({ containerId: id });
}));

test('State reports PAUSED for a task frozen behind the core\'s back, and RUNNING once thawed', { skip }, () => withCore(async (env) => {
  const id = uid('paused');
  await runTask(env, id, ['sleep', '60'], false);
  // the freezer written directly, as another tool would: the core is not told
  const pid = (await env.client.tasks.State({ containerId: id })).process!.pid;
  const rel = /^\d+:freezer:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))![1]!;
  const stateFile = join('/sys/fs/cgroup/freezer', rel, 'freezer.state');
  const run = (cmd: string): void => { writeFileSync(stateFile, cmd === 'pause' ? 'FROZEN' : 'THAWED'); };
  run('pause');
  await until('PAUSED', async () => (await env.client.tasks.State({ containerId: id })).process!.status === 'PAUSED');
  assert.equal((await env.client.tasks.List({})).tasks.find((t) => t.containerId === id)?.status, 'PAUSED');
  run('resume');
  await until('RUNNING', async () => (await env.client.tasks.State({ containerId: id })).process!.status === 'RUNNING');
  await env.client.tasks.Delete({ containerId: id, force: true });
}));

test('berth-ctr run -i feeds its stdin to the task; tasks attach relays a running one', { skip }, () => withCore(async (env) => {
  const ctr = (input: string, ...args: string[]) => spawnSync(join(REPO, 'bin', 'berth-ctr'), ['--address', env.address, ...args], { encoding: 'utf8', input, timeout: 30_000 });
  const id = uid('ctr-i');
  const run = ctr('one\ntwo\n', 'run', '-i', '--rm', '--rootfs', env.rootfs.rootfs, id, '--', 'sh', '-c', 'cat; echo done >&2; exit 5');
  assert.equal(run.stdout, 'one\ntwo\n', run.stderr);
  assert.equal(run.stderr, 'done\n');
  assert.equal(run.status, 5);
  assert.equal((await env.client.tasks.List({})).tasks.some((t) => t.containerId === id), false, '--rm removed the task');

  const bg = uid('ctr-attach');
  await runTask(env, bg, ['cat'], true);
  const att = ctr('via ctr\n', 'tasks', 'attach', bg);
  assert.equal(att.stdout, 'via ctr\n', att.stderr);
  assert.equal(att.status, 0);
  await env.client.tasks.Delete({ containerId: bg });
}));

test('attach with logs: the log so far, then live output, no line lost or repeated at the seam; a stopped task gives its log and exit', { skip }, () => withCore(async (env) => {
  const id = uid('logs');
  // numbered lines, each written in two parts (printf, a pause, the rest) so an attach falls inside one
  await runTask(env, id, ['sh', '-c', 'i=0; while [ $i -lt 100 ]; do i=$((i+1)); printf "line $i "; sleep 0.02; echo "end"; [ $((i % 50)) -eq 0 ] && echo "err $i" >&2; done'], false);
  const expected = Array.from({ length: 100 }, (_, k) => `line ${k + 1} end\n`).join('');
  const errs = 'err 50\nerr 100\n';
  const attachAfter = async (ms: number): Promise<void> => {
    await sleep(ms); // some output is only in the log by then
    const a = await env.client.attach({ containerId: id, logs: true });
    let out = '';
    let err = '';
    for await (const c of a) { if (c.stream === 'stdout') out += c.data.toString(); else err += c.data.toString(); }
    assert.equal((await a.exit)?.status, 0);
    assert.equal(out, expected, `attached after ${ms} ms: stdout differs from byte ${[...out].findIndex((ch, k) => ch !== expected[k])}`);
    assert.equal(err, errs);
  };
  await Promise.all([attachAfter(300), attachAfter(700), attachAfter(1100), attachAfter(1500)]);
  const b = await env.client.attach({ containerId: id, logs: true, stderr: false });
  let out = '';
  for await (const c of b) { assert.equal(c.stream, 'stdout'); out += c.data.toString(); }
  assert.equal(out, expected, 'a stopped task replays its log');
  assert.equal((await b.exit)?.status, 0);
  await env.client.tasks.Delete({ containerId: id });
}));

test('attach with logs while output is produced: several attaches at random moments each see every line once', { skip }, () => withCore(async (env) => {
  const id = uid('logs-live');
  await runTask(env, id, ['sh', '-c', 'i=0; while [ $i -lt 1500 ]; do i=$((i+1)); printf "n$i "; echo "x"; done; sleep 0.5'], false);
  const expected = Array.from({ length: 1500 }, (_, k) => `n${k + 1} x\n`).join('');
  const attaches = [];
  for (let k = 0; k < 4; k++) {
    await sleep(Math.floor(Math.random() * 60));
    attaches.push((async () => {
      const a = await env.client.attach({ containerId: id, logs: true });
      let out = '';
      for await (const c of a) if (c.stream === 'stdout') out += c.data.toString();
      return out;
    })());
  }
  for (const out of await Promise.all(attaches)) {
    assert.equal(out.length, expected.length, 'no byte lost or repeated');
    assert.equal(out, expected);
  }
  await env.client.tasks.Delete({ containerId: id });
}));

/** Collects both streams of an attach with logs until the process exits. */
async function attachLogs(env: Env, id: string): Promise<{ out: string; err: string }> {
  const a = await env.client.attach({ containerId: id, logs: true });
  let out = '';
  let err = '';
  for await (const c of a) { if (c.stream === 'stdout') out += c.data.toString(); else err += c.data.toString(); }
  assert.equal((await a.exit)?.status, 0);
  return { out, err };
}

test('attach with logs inside a line half written for a long while: its start from the shim, its end live, on both streams', { skip }, () => withCore(async (env) => {
  const id = uid('logs-half');
  await runTask(env, id, ['sh', '-c', 'echo before; echo e-before >&2; printf "start "; printf "e-start " >&2; sleep 1.5; echo end; echo e-end >&2'], false);
  await sleep(700); // inside the sleep: "start " is held by the shim, in no log line yet
  const r = await attachLogs(env, id);
  assert.equal(r.out, 'before\nstart end\n');
  assert.equal(r.err, 'e-before\ne-start e-end\n');
  await env.client.tasks.Delete({ containerId: id });
}));

for (const maxFile of ['3', '1']) {
  test(`attach with logs over a log rotating fast (max-size 2k, max-file ${maxFile}): each sees one unbroken run of lines up to the exit`, { skip }, () => withCore(async (env) => {
    const id = uid(`logs-rot${maxFile}`);
    // bursts of 200 lines (many rotations each) with short pauses, so the attaches land while it writes
    await runTask(env, id, ['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); printf "n$i "; echo "x"; [ $((i % 200)) -eq 0 ] && sleep 0.05; done; sleep 0.3'], false,
      { 'berth.log.max-size': '2k', 'berth.log.max-file': maxFile });
    const expected = Array.from({ length: 3000 }, (_, k) => `n${k + 1} x\n`).join('');
    const attaches = [];
    for (let k = 0; k < 4; k++) {
      await sleep(Math.floor(Math.random() * 150));
      attaches.push(attachLogs(env, id));
    }
    for (const { out } of await Promise.all(attaches)) {
      // rotation drops the oldest lines: what is left must be the end of the output, from a line's start, no gap, no repeat
      assert.ok(out.length > 0 && expected.endsWith(out), `not a suffix of the output: starts ${JSON.stringify(out.slice(0, 40))}, ${out.length} bytes`);
      assert.ok(out.startsWith('n'), 'starts at a line');
    }
    await env.client.tasks.Delete({ containerId: id });
  }));
}
