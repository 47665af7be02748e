/**
 * berth-shim on the real kernel, with bin/berth-runtime and Debian's runc:
 * logging, exit records, lifecycle calls, exec, rotation, failures, memory.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { REPO, RUNTIME, isRoot } from '../helpers/runtime.js';
import { ShimClient, startShim, shimArgs, type StartShimOptions } from '../../src/shim/client.js';

const SHIM = join(REPO, 'bin', 'berth-shim');
const RUNC = '/usr/sbin/runc';
const skip = !isRoot || !existsSync(SHIM) ? 'needs root and bin/berth-shim (npm run build)' : false;

interface Fixture {
  bundle: Bundle;
  dir: string;
  opts: StartShimOptions;
  pid: number;
}

let seq = 0;
function fixture(runtime: string, args: string[], extra: Partial<StartShimOptions> = {}): Omit<Fixture, 'pid'> {
  const bundle = makeBundle(args, 'berth-shim-bundle-');
  const dir = mkdtempSync(join(tmpdir(), 'berth-shim-'));
  const id = `shimtest-${process.pid}-${++seq}`;
  return {
    bundle, dir,
    opts: { binary: SHIM, id, bundle: bundle.dir, runtime, socket: join(dir, 'shim.sock'), stateDir: join(dir, 'state'), log: join(dir, 'ctr.log'), ...extra },
  };
}

async function started(runtime: string, args: string[], extra: Partial<StartShimOptions> = {}): Promise<Fixture> {
  const f = fixture(runtime, args, extra);
  try {
    const { pid } = await startShim(f.opts);
    return { ...f, pid };
  } catch (e) {
    removeBundle(f.bundle);
    rmSync(f.dir, { recursive: true, force: true });
    throw e;
  }
}

/** A process that is not a zombie (pid 1 here may be slow to reap). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}

function liveMatching(needle: string): number[] {
  const r = spawnSync('pgrep', ['-f', needle], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number).filter((p) => p !== process.pid && alive(p));
}

/** Removes the container, the shim and every file; fails when something survives. */
async function teardown(f: Fixture): Promise<void> {
  const root = join(f.opts.stateDir, 'runtime');
  if (existsSync(root)) spawnSync(f.opts.runtime, ['--root', root, 'delete', '--force', f.opts.id], { stdio: 'ignore' });
  if (alive(f.pid)) process.kill(f.pid, 'SIGKILL');
  for (let i = 0; i < 50 && liveMatching(f.opts.id).length; i++) await sleep(20);
  removeBundle(f.bundle);
  rmSync(f.dir, { recursive: true, force: true });
  assert.deepEqual(liveMatching(f.opts.id), [], 'a process of the test survived');
  const cg = spawnSync('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-type', 'd', '-name', `*${f.opts.id}*`], { encoding: 'utf8' });
  assert.equal(cg.stdout.trim(), '', 'a cgroup of the test survived');
}

interface LogEntry { log: string; stream: string; time: string }
function readLog(path: string): LogEntry[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogEntry);
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const [name, runtime] of [['berth-runtime', RUNTIME], ['runc', RUNC]] as const) {
  describe(`berth-shim with ${name}`, { skip }, () => {
    test('logs stdout and stderr in json-file format with nanosecond times; WAIT returns the exit status', async () => {
      const f = await started(runtime, ['sh', '-c', 'echo one; echo two >&2; echo "q\\"uote\ttab"; printf tail; exit 3']);
      try {
        const c = await ShimClient.connect(f.opts.socket);
        assert.equal((await c.state()).status, 'created');
        await c.start();
        const exit = await c.wait();
        assert.equal(exit.status, 3);
        assert.ok(exit.exitedAt > 1_600_000_000_000_000_000n);
        const log = readLog(f.opts.log);
        const out = log.filter((e) => e.stream === 'stdout').map((e) => e.log);
        assert.deepEqual(out, ['one\n', 'q"uote\ttab\n', 'tail']);
        assert.deepEqual(log.filter((e) => e.stream === 'stderr').map((e) => e.log), ['two\n']);
        for (const e of log) assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
        const record = JSON.parse(readFileSync(join(f.opts.stateDir, 'exit.json'), 'utf8')) as { status: number };
        assert.equal(record.status, 3);
        const st = await c.state();
        assert.deepEqual([st.status, st.exitStatus], ['stopped', 3]);
        await c.delete();
        assert.equal(existsSync(f.opts.stateDir), false, 'delete removes the state');
        await c.shutdown();
        await until('the shim to exit', () => !alive(f.pid));
        assert.equal(existsSync(f.opts.socket), false);
      } finally { await teardown(f); }
    });

    test('a burst of lines gets times that go up by at least a nanosecond a line, near the clock', async () => {
      const f = await started(runtime, ['sh', '-c', 'seq 1 20000; echo "ctl \x01 \\ end"']);
      try {
        const c = await ShimClient.connect(f.opts.socket);
        const before = BigInt(Date.now()) * 1_000_000n;
        await c.start();
        assert.equal((await c.wait()).status, 0);
        const after = BigInt(Date.now()) * 1_000_000n;
        const log = readLog(f.opts.log);
        assert.equal(log.length, 20001);
        assert.deepEqual(log.slice(0, 3).map((e) => e.log), ['1\n', '2\n', '3\n']);
        assert.equal(log[20000]!.log, 'ctl \u0001 \\ end\n', 'escapes');
        const ns = (t: string): bigint => BigInt(Date.parse(t.slice(0, 19) + 'Z')) * 1_000_000n + BigInt(t.slice(20, 29));
        let prev = 0n;
        for (const e of log) {
          assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
          const t = ns(e.time);
          assert.ok(t > prev, `${e.time} comes after the time before it`);
          prev = t;
        }
        assert.ok(ns(log[0]!.time) >= before - 1_000_000_000n && prev <= after + 1_000_000_000n, 'the times are the clock\'s');
        await c.delete();
      } finally { await teardown(f); }
    });

    test('DELETE of a created, never started container lets SHUTDOWN go', async () => {
      const f = await started(runtime, ['sleep', '100']);
      try {
        const c = await ShimClient.connect(f.opts.socket);
        assert.equal((await c.state()).status, 'created');
        await c.delete();
        // the reaper collects the init the runtime killed: the shim must stay "deleted"
        await sleep(200);
        await c.shutdown();
        await until('the shim to exit', () => !alive(f.pid));
      } finally { await teardown(f); }
    });

    test('KILL, START, STATE and DELETE drive the lifecycle', async () => {
      const f = await started(runtime, ['sleep', '100']);
      try {
        const c = await ShimClient.connect(f.opts.socket);
        await assert.rejects(c.shutdown(), /still exists/);
        await c.start();
        const st = await c.state();
        assert.equal(st.status, 'running');
        assert.ok(alive(st.pid));
        await assert.rejects(c.delete(), /cannot delete container/);
        await c.kill(9);
        assert.equal((await c.wait()).status, 137);
        assert.equal((await c.state()).status, 'stopped');
        await c.delete();
        await c.shutdown();
      } finally { await teardown(f); }
    });

    test('EXEC runs a process with its own output and exit status', async () => {
      const f = await started(runtime, ['sleep', '100']);
      try {
        const c = await ShimClient.connect(f.opts.socket);
        await c.start();
        const process = { ...f.bundle.config.process, args: ['sh', '-c', 'echo from-exec; echo oops >&2; exit 4'] };
        const execLog = join(f.dir, 'exec.log');
        const st = await c.exec('e1', { process, log: execLog });
        assert.ok(st.pid > 0);
        assert.equal((await c.wait('e1')).status, 4);
        assert.deepEqual(readLog(execLog).map((e) => [e.stream, e.log]), [['stdout', 'from-exec\n'], ['stderr', 'oops\n']]);
        await assert.rejects(c.exec('e1', { process }), /already in use/);
        await assert.rejects(c.wait('nope'), /no such exec/);
        assert.equal(readFileSync(f.opts.log, 'utf8'), '', "the init's log has none of it");
        await c.kill(9);
        await c.wait();
        await c.delete();
      } finally { await teardown(f); }
    });
  });
}

describe('berth-shim on its own', { skip }, () => {
  test('survives the death of its starter and keeps logging; an exit with nobody connected is kept in exit.json', async () => {
    const f = fixture(RUNTIME, ['sh', '-c', 'i=0; while [ $i -lt 30 ]; do echo line$i; i=$((i+1)); sleep 0.05; done; exit 7']);
    // the starter: a shell that starts the shim and would stay; it is killed with SIGKILL
    const starter = spawn('sh', ['-c', `${SHIM} ${shimArgs(f.opts).map((a) => `'${a}'`).join(' ')} > ${join(f.dir, 'pid')} && sleep 100`], { stdio: 'ignore', detached: true });
    let pid = 0;
    try {
      await until('the shim to be ready', () => existsSync(join(f.dir, 'pid')) && readFileSync(join(f.dir, 'pid'), 'utf8').trim() !== '');
      pid = Number(readFileSync(join(f.dir, 'pid'), 'utf8').trim());
      process.kill(-starter.pid!, 'SIGKILL');
      const c = await ShimClient.connect(f.opts.socket);
      await c.start();
      await until('exit.json', () => existsSync(join(f.opts.stateDir, 'exit.json')));
      assert.ok(alive(pid), 'the shim outlives its starter');
      const record = JSON.parse(readFileSync(join(f.opts.stateDir, 'exit.json'), 'utf8')) as { status: number; time: string };
      assert.equal(record.status, 7);
      assert.match(record.time, /\.\d{9}Z$/);
      const later = await ShimClient.connect(f.opts.socket);
      const st = await later.state();
      assert.deepEqual([st.status, st.exitStatus], ['stopped', 7]);
      assert.equal((await later.wait()).status, 7);
      const lines = readLog(f.opts.log).map((e) => e.log);
      assert.equal(lines.length, 30, 'no line lost');
      assert.equal(lines[29], 'line29\n');
      await later.delete();
    } finally { await teardown({ ...f, pid }); }
  });

  test('rotates the log at max-size keeping max-file files', async () => {
    const f = await started(RUNTIME, ['sh', '-c', 'seq 1 300'], { logMaxSize: 2000, logMaxFile: 3 });
    try {
      const c = await ShimClient.connect(f.opts.socket);
      await c.start();
      await c.wait();
      const files = readdirSync(f.dir).filter((n) => n.startsWith('ctr.log')).sort();
      assert.deepEqual(files, ['ctr.log', 'ctr.log.1', 'ctr.log.2']);
      for (const n of files) assert.ok(statSync(join(f.dir, n)).size <= 2000, `${n} is within max-size`);
      const newest = readLog(f.opts.log);
      assert.equal(newest.at(-1)!.log, '300\n');
      const older = readLog(join(f.dir, 'ctr.log.1'));
      assert.equal(Number(older.at(-1)!.log) + 1, Number(newest[0]!.log), 'rotation loses no line between files');
      await c.delete();
    } finally { await teardown(f); }
  });

  test('a runtime whose create fails: its stderr is the error and nothing is left', async () => {
    for (const runtime of [RUNTIME, RUNC]) {
      const f = fixture(runtime, ['true']);
      f.bundle.config.root.path = 'no-such-rootfs';
      f.bundle.write();
      try {
        await assert.rejects(startShim(f.opts), (e: Error) => {
          assert.match(e.message, /cannot create container shimtest-\S+: .*(no-such-rootfs|no such file)/is);
          return true;
        });
        assert.equal(existsSync(f.opts.socket), false, 'no socket left');
        assert.equal(existsSync(f.opts.stateDir), false, 'no state left');
        assert.equal(existsSync(f.opts.log), false, 'no log left');
      } finally { await teardown({ ...f, pid: 0 }); }
    }
  });

  test('a missing runtime binary is a clear error', async () => {
    const f = fixture('/nonexistent/runtime', ['true']);
    try {
      await assert.rejects(startShim(f.opts), /cannot use runtime \/nonexistent\/runtime: no such file/i);
      assert.equal(existsSync(f.opts.stateDir), false);
    } finally { await teardown({ ...f, pid: 0 }); }
  });

  test('a terminal container: the pty master arrives on the console socket, its output is logged, RESIZE works', async () => {
    const f = fixture(RUNTIME, ['sh', '-c', 'echo hello-tty; test -t 1 && echo is-a-tty; stty size']);
    f.bundle.config.process.terminal = true;
    f.bundle.write();
    const { pid } = await startShim({ ...f.opts, terminal: true });
    try {
      const c = await ShimClient.connect(f.opts.socket);
      await c.resize(33, 101);
      await c.start();
      assert.equal((await c.wait()).status, 0);
      const out = readLog(f.opts.log).map((e) => e.log.replace(/\r/g, ''));
      assert.deepEqual(out, ['hello-tty\n', 'is-a-tty\n', '33 101\n'], 'stty inside sees the size set by RESIZE');
      await c.delete();
    } finally { await teardown({ ...f, pid }); }
  });

  test('holds under 1 MB of private memory', async () => {
    const f = await started(RUNTIME, ['sh', '-c', 'echo hi; sleep 100']);
    try {
      const c = await ShimClient.connect(f.opts.socket);
      await c.start();
      await until('the first log line', () => readFileSync(f.opts.log, 'utf8').includes('hi'));
      const rollup = readFileSync(`/proc/${f.pid}/smaps_rollup`, 'utf8');
      const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN);
      const uss = kb('Private_Clean') + kb('Private_Dirty');
      process.stdout.write(`# berth-shim USS ${uss} kB, PSS ${kb('Pss')} kB, RSS ${kb('Rss')} kB\n`);
      assert.ok(uss < 1024, `USS ${uss} kB`);
      await c.kill(9);
      await c.wait();
      await c.delete();
    } finally { await teardown(f); }
  });
});
