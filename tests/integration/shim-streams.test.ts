/**
 * berth-shim's streams and faults on the real kernel: stdin held by the shim,
 * ATTACH (several attachers, input to a pipe and to a pty), DELETE_EXEC, a
 * full disk under the log, PAUSED, and clients that misbehave.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { REPO, RUNTIME, isRoot } from '../helpers/runtime.js';
import { ShimClient, startShim, type StartShimOptions } from '../../src/shim/client.js';
import type { AttachChunk, Attachment } from '../../src/shim/attach.js';
import { encodeShimMessage } from '../../src/shim/codec.js';
import { ShimRequest } from '../../src/shim/protocol.js';
import { decodeAll } from '../../src/common/stdcopy.js';

const SHIM = join(REPO, 'bin', 'berth-shim');
const RUNC = '/usr/sbin/runc';
const skip = !isRoot || !existsSync(SHIM) ? 'needs root and bin/berth-shim (npm run build)' : false;

interface Fixture { bundle: Bundle; dir: string; opts: StartShimOptions; pid: number; c: ShimClient }

let seq = 0;
async function started(runtime: string, args: string[], extra: Partial<StartShimOptions> = {}, terminal = false): Promise<Fixture> {
  const bundle = makeBundle(args, 'berth-shimio-bundle-');
  if (terminal) { bundle.config.process.terminal = true; bundle.write(); }
  const dir = mkdtempSync(join(tmpdir(), 'berth-shimio-'));
  const id = `shimio-${process.pid}-${++seq}`;
  const opts: StartShimOptions = {
    binary: SHIM, id, bundle: bundle.dir, runtime, socket: join(dir, 'shim.sock'),
    stateDir: join(dir, 'state'), log: join(dir, 'ctr.log'), terminal, ...extra,
  };
  try {
    const { pid } = await startShim(opts);
    return { bundle, dir, opts, pid, c: await ShimClient.connect(opts.socket) };
  } catch (e) {
    removeBundle(bundle);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

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

async function teardown(f: Fixture): Promise<void> {
  const root = join(f.opts.stateDir, 'runtime');
  if (existsSync(root)) spawnSync(f.opts.runtime, ['--root', root, 'delete', '--force', f.opts.id], { stdio: 'ignore' });
  if (alive(f.pid)) process.kill(f.pid, 'SIGKILL');
  for (let i = 0; i < 50 && liveMatching(f.opts.id).length; i++) await sleep(20);
  removeBundle(f.bundle);
  rmSync(f.dir, { recursive: true, force: true });
  assert.deepEqual(liveMatching(f.opts.id), [], 'a process of the test survived');
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Collects an attachment's output in the background. */
function collect(a: Attachment): { chunks: AttachChunk[]; text: (s?: 'stdout' | 'stderr') => string; done: Promise<void> } {
  const chunks: AttachChunk[] = [];
  const done = (async () => { for await (const c of a) chunks.push(c); })();
  const text = (s?: 'stdout' | 'stderr'): string => Buffer.concat(chunks.filter((c) => !s || c.stream === s).map((c) => c.data)).toString();
  return { chunks, text, done };
}

interface LogEntry { log: string; stream: string }
const readLog = (path: string): LogEntry[] =>
  readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogEntry);

for (const [name, runtime] of [['berth-runtime', RUNTIME], ['runc', RUNC]] as const) {
  describe(`berth-shim streams with ${name}`, { skip }, () => {
    test('--stdin: cat echoes what an attacher writes and exits on CLOSE_STDIN', async () => {
      const f = await started(runtime, ['cat'], { stdin: true });
      try {
        const a = await f.c.attach({ stdin: true });
        const out = collect(a);
        await f.c.start();
        await a.write('hello through stdin\n');
        await until('the echo', () => out.text('stdout') === 'hello through stdin\n');
        assert.equal((await f.c.state()).status, 'running');
        await f.c.closeStdin();
        assert.equal((await f.c.wait()).status, 0);
        assert.deepEqual(await a.exit, { status: 0, exitedAt: (await f.c.state()).exitedAt });
        await out.done;
        assert.deepEqual(readLog(f.opts.log).map((e) => e.log), ['hello through stdin\n']);
        await f.c.delete();
      } finally { await teardown(f); }
    });

    test('two attachers both see stdout and stderr; one that leaves disturbs nothing', async () => {
      const f = await started(runtime, ['sh', '-c', 'sleep 0.2; i=0; while [ $i -lt 50 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done; exit 2']);
      try {
        const a1 = await f.c.attach();
        const a2 = await f.c.attach({ stderr: false });
        const quitter = await f.c.attach();
        quitter.close();
        const o1 = collect(a1);
        const o2 = collect(a2);
        await f.c.start();
        assert.equal((await f.c.wait()).status, 2);
        await Promise.all([o1.done, o2.done]);
        const want = (p: string): string => Array.from({ length: 50 }, (_, i) => `${p}${i}\n`).join('');
        assert.equal(o1.text('stdout'), want('out'));
        assert.equal(o1.text('stderr'), want('err'));
        assert.equal(o2.text('stdout'), want('out'));
        assert.equal(o2.text('stderr'), '', 'an attacher without stderr gets none');
        assert.equal((await a1.exit)?.status, 2);
        assert.equal((await quitter.exit), undefined);
        assert.equal(readLog(f.opts.log).length, 100, 'the log has every line');
        await f.c.delete();
      } finally { await teardown(f); }
    });

    test('an exec with an open stdin: input through attach reaches cat; DELETE_EXEC forgets it', async () => {
      const f = await started(runtime, ['sleep', '100']);
      try {
        await f.c.start();
        const proc = { ...f.bundle.config.process, args: ['cat'] };
        await f.c.exec('cat1', { process: proc, openStdin: true, log: join(f.dir, 'exec.log') });
        const a = await f.c.attach({ execId: 'cat1', stdin: true });
        const out = collect(a);
        await a.write('to the exec\n');
        await until('the echo', () => out.text() === 'to the exec\n');
        await assert.rejects(f.c.deleteExec('cat1'), /exec is running/);
        await a.closeStdin();
        assert.equal((await f.c.wait('cat1')).status, 0);
        await out.done;
        await f.c.deleteExec('cat1');
        await assert.rejects(f.c.wait('cat1'), /no such exec/);
        await assert.rejects(f.c.deleteExec('cat1'), /no such exec/);
        assert.deepEqual(readLog(join(f.dir, 'exec.log')).map((e) => e.log), ['to the exec\n'], 'the exec log stays');
        assert.equal(existsSync(join(f.opts.stateDir, 'exec-cat1.json')), false);
        await assert.rejects(f.c.attach({ stdin: true }), /no open stdin/, 'the init has no open stdin');
        await f.c.kill(9);
        await f.c.wait();
        await f.c.delete();
      } finally { await teardown(f); }
    });

    test('STATE says paused while the cgroup is frozen', async () => {
      const f = await started(runtime, ['sleep', '100']);
      try {
        await f.c.start();
        const rt = (verb: string): void => {
          const r = spawnSync(runtime, ['--root', join(f.opts.stateDir, 'runtime'), verb, f.opts.id], { encoding: 'utf8' });
          assert.equal(r.status, 0, r.stderr);
        };
        rt('pause');
        assert.equal((await f.c.state()).status, 'paused');
        rt('resume');
        assert.equal((await f.c.state()).status, 'running');
        await f.c.kill(9);
        await f.c.wait();
        await f.c.delete();
      } finally { await teardown(f); }
    });
  });
}

/**
 * A client's connection as an engine has it: `engine` is the accepted end
 * (its descriptor is what OUTPUT_FD hands over), `client` the far end,
 * whose bytes are collected.
 */
async function clientConnection(dir: string): Promise<{ engine: Socket; client: Socket; bytes: () => Buffer; ended: Promise<void>; fd: () => number | undefined }> {
  const path = join(dir, `client-${++seq}.sock`);
  const server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect(path);
  const engine = await accepted;
  server.close();
  const got: Buffer[] = [];
  client.on('data', (d: Buffer) => got.push(d));
  const ended = new Promise<void>((r) => client.on('close', () => r()));
  const fd = (): number | undefined => {
    const n = (engine as unknown as { _handle?: { fd?: number } })._handle?.fd;
    return engine.destroyed ? undefined : n;
  };
  return { engine, client, bytes: () => Buffer.concat(got), ended, fd };
}

describe('berth-shim streams and faults', { skip }, () => {
  test('OUTPUT_FD: the shim writes stdcopy frames of at most 32 KiB to a handed-over connection, then EXIT', async () => {
    // 300 000 bytes in one go (frames cut at 32 KiB), then lines on both streams
    const f = await started(RUNTIME, ['sh', '-c', 'sleep 0.2; head -c 300000 /dev/zero | tr "\\0" x; i=0; while [ $i -lt 40 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done; exit 3']);
    try {
      const conn = await clientConnection(f.dir);
      const a = await f.c.attach({ output: { framing: 'stdcopy', fd: conn.fd } });
      const out = collect(a);
      await f.c.start();
      assert.equal((await a.exit)?.status, 3, 'EXIT comes on the attach connection');
      await out.done;
      assert.equal(out.chunks.length, 0, 'no output on the attach connection');
      // the shim let go of its copy before EXIT: ours is the last, and closing it ends the client's stream
      conn.engine.end();
      await conn.ended;
      const frames = decodeAll(conn.bytes());
      assert.ok(frames.every((fr) => fr.payload.length > 0 && fr.payload.length <= 32 * 1024), 'frames of 1 byte to 32 KiB');
      const text = (stream: number): string => Buffer.concat(frames.filter((fr) => fr.stream === stream).map((fr) => fr.payload)).toString();
      const lines = (p: string): string => Array.from({ length: 40 }, (_, i) => `${p}${i}\n`).join('');
      assert.equal(text(1), 'x'.repeat(300_000) + lines('out'));
      assert.equal(text(2), lines('err'));
      assert.equal(readLog(f.opts.log).filter((e) => e.stream === 'stdout').map((e) => e.log).join(''), text(1), 'the log has it all too');
      await f.c.delete();
    } finally { await teardown(f); }
  });

  test('OUTPUT_FD: a client held back, then read, gets every byte of a process that exited meanwhile (ten rounds)', async () => {
    // the exit comes while the shim hands out its last reads: the attach must not end halfway through one
    for (let round = 0; round < 10; round++) {
      const total = 6_000_000;
      const f = await started(RUNTIME, ['sh', '-c', `yes 0123456789abcdef | head -c ${total}`]);
      try {
        const conn = await clientConnection(f.dir);
        conn.client.pause();
        const a = await f.c.attach({ output: { framing: 'stdcopy', fd: conn.fd } });
        await f.c.start();
        await sleep(300);
        conn.client.resume();
        assert.equal((await a.exit)?.status, 0);
        conn.engine.end();
        await conn.ended;
        const got = decodeAll(conn.bytes()).reduce((n, fr) => n + fr.payload.length, 0);
        assert.equal(got, total, `round ${round}: every byte`);
        await f.c.delete();
      } finally { await teardown(f); }
    }
  });

  test('OUTPUT_FD with a terminal: raw bytes; input still goes through the attach connection', async () => {
    const f = await started(RUNTIME, ['sh'], {}, true);
    try {
      const conn = await clientConnection(f.dir);
      const a = await f.c.attach({ stdin: true, output: { framing: 'raw', fd: conn.fd } });
      await f.c.start();
      await a.write("echo hel''lo-raw\n");
      await until('the shell to answer on the connection', () => /hello-raw/.test(conn.bytes().toString()));
      await a.write('exit 4\n');
      assert.equal((await a.exit)?.status, 4);
      conn.engine.end();
      await conn.ended;
      assert.equal(conn.bytes()[0] === 1 && conn.bytes()[1] === 0, false, 'no stdcopy header');
      await f.c.delete();
    } finally { await teardown(f); }
  });

  test('OUTPUT_FD: a detach drops the descriptor; a client that leaves ends the attach; the container runs on', async () => {
    const f = await started(RUNTIME, ['sh', '-c', 'while :; do echo tick; sleep 0.05; done']);
    try {
      await f.c.start();
      // detach: once the attach connection closes, the shim holds the client's connection no more
      const c1 = await clientConnection(f.dir);
      const a1 = await f.c.attach({ output: { framing: 'stdcopy', fd: c1.fd } });
      await until('output on the connection', () => c1.bytes().length > 0);
      a1.close();
      await sleep(200);
      c1.engine.destroy();
      const closed = await Promise.race([c1.ended.then(() => true), sleep(3000).then(() => false)]);
      assert.ok(closed, 'the client sees the end: the shim let its copy go at the detach');
      // the client leaves: writing fails, and the attach ends without an exit
      const c2 = await clientConnection(f.dir);
      const a2 = await f.c.attach({ output: { framing: 'stdcopy', fd: c2.fd } });
      await until('output on the second connection', () => c2.bytes().length > 0);
      c2.engine.destroy();
      c2.client.destroy();
      assert.equal(await Promise.race([a2.exit, sleep(5000).then(() => 'timeout')]), undefined, 'the attach ended, no exit');
      assert.equal((await f.c.state()).status, 'running');
      const before = readLog(f.opts.log).length;
      await until('the log to go on', () => readLog(f.opts.log).length > before + 2);
      await assert.rejects(f.c.attach({ output: { framing: 'stdcopy', fd: () => undefined } }).then(async (a) => { a.close(); throw new Error('no descriptor: plain attach'); }), /plain attach/);
      await f.c.kill(9);
      await f.c.wait();
      await f.c.delete();
    } finally { await teardown(f); }
  });

  test('with a terminal, input through attach reaches the shell through the pty', async () => {
    const f = await started(RUNTIME, ['sh'], {}, true);
    try {
      const a = await f.c.attach({ stdin: true });
      const out = collect(a);
      await f.c.start();
      await a.write("echo hel''lo-pty\n");
      await until('the shell to answer', () => /hello-pty/.test(out.text()));
      await a.write('exit 5\n');
      assert.equal((await f.c.wait()).status, 5);
      assert.equal((await a.exit)?.status, 5);
      assert.ok(readLog(f.opts.log).some((e) => e.log.startsWith('hello-pty')), 'the answer is logged too');
      await f.c.delete();
    } finally { await teardown(f); }
  });

  test('a full disk under the log: errors counted in STATE, output still reaches attachers, logging resumes', async () => {
    const mnt = mkdtempSync(join(tmpdir(), 'berth-shimio-tmpfs-'));
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status, 0);
    let f: Fixture | undefined;
    try {
      mkdirSync(join(mnt, 'logs'));
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(32 * 1024));
      f = await started(RUNTIME, ['cat'], { stdin: true, log: join(mnt, 'logs', 'ctr.log') });
      const a = await f.c.attach({ stdin: true });
      const out = collect(a);
      await f.c.start();
      const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(40)}\n`).join('');
      await a.write(lines);
      await until('every byte at the attacher', () => out.text().length === lines.length);
      assert.equal(out.text(), lines, 'the attacher got every byte, in order');
      const st = await f.c.state();
      assert.equal(st.status, 'running', 'the container keeps running');
      assert.ok(st.logErrors > 0, `log errors counted (${st.logErrors})`);
      assert.match(st.logError ?? '', /cannot write log .*ctr\.log: no space left on device/);
      const rollup = readFileSync(`/proc/${f.pid}/smaps_rollup`, 'utf8');
      const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN);
      assert.ok(kb('Private_Clean') + kb('Private_Dirty') < 1024, 'USS stays under 1 MB');
      rmSync(join(mnt, 'filler'));
      await a.write('after space returned\n');
      await until('the line in the log', () => readFileSync(f!.opts.log, 'utf8').includes('after space returned'));
      const log = readLog(f.opts.log); // every line still parses: no half entry was left
      assert.equal(log.at(-1)!.log, 'after space returned\n');
      assert.equal((await f.c.state()).logErrors, st.logErrors, 'no error once space returned');
      await f.c.closeStdin();
      assert.equal((await f.c.wait()).status, 0);
      await out.done;
      await f.c.delete();
    } finally {
      if (f) await teardown(f);
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  test('a client that sends nothing does not block others; a WAIT client that leaves is dropped at once', async () => {
    const f = await started(RUNTIME, ['sleep', '100']);
    const fds = (): number => readdirSync(`/proc/${f.pid}/fd`).length;
    try {
      await f.c.start();
      // let the connections of the calls above close before counting
      await f.c.state();
      await sleep(100);
      const base = fds();
      const silent = connect(f.opts.socket);
      const partial = connect(f.opts.socket, () => partial.write(Buffer.from([40, 0])));
      await sleep(50);
      const t0 = Date.now();
      assert.equal((await f.c.state()).status, 'running');
      assert.ok(Date.now() - t0 < 500, 'STATE answered while two clients say nothing');
      silent.destroy();
      partial.destroy();
      await until('the silent clients to be closed', () => fds() <= base, 2000);
      const waiter = connect(f.opts.socket, () => waiter.write(encodeShimMessage(ShimRequest.WAIT, [])));
      await until('the parked WAIT', () => fds() === base + 1, 2000);
      waiter.destroy();
      await until('the WAIT client to be dropped', () => fds() <= base, 2000);
      // one that stays silent is closed by the shim after its time runs out
      const lingering = connect(f.opts.socket);
      let closedByShim = false;
      lingering.on('close', () => { closedByShim = true; });
      lingering.on('error', () => undefined);
      await until('the shim to close the silent client', () => closedByShim, 8000);
      await f.c.kill(9);
      await f.c.wait();
      await f.c.delete();
    } finally { await teardown(f); }
  });
});
