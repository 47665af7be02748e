/**
 * The attach data path goes from the shim to berthd directly
 * (src/daemon/streams/direct.ts): a `docker run` attached keeps receiving
 * its container's output while berth-core is stopped (SIGSTOP), which a
 * relay through the core could not do. The core answers the task's shim
 * address at create and in Tasks.State.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxTar, call, corePids, docker, DOCKER, layout, ready, skipBerthd, spawnBerthd, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';

let b: Berthd | undefined;
let l: Layout | undefined;
let dir = '';

after(async () => {
  if (!b || !l) return;
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } }
  assert.deepEqual(await teardownBerthd(b, l, dir), []);
});

/**
 * A `docker run` attached to a container writing 30 lines over ~1.5 s: after
 * line 3, the processes `stopped()` names are SIGSTOPped until line 25 has
 * arrived (or 10 s passed), then let go. Every line must arrive, in order.
 */
async function streamsWhileStopped(sock: string, what: string, stopped: () => number[]): Promise<void> {
  const child = spawn(DOCKER, ['-H', `unix://${sock}`, 'run', '--rm', 'busybox', 'sh', '-c', 'for i in $(seq 1 30); do echo line $i; sleep 0.05; done'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const watchers = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); for (const w of watchers) w(); });
  /** Resolves true once line n has arrived, false after ms. */
  const seen = (n: number, ms: number): Promise<boolean> => new Promise((resolve) => {
    const check = (): void => { if (out.includes(`line ${n}\n`)) { done(); resolve(true); } };
    const timer = setTimeout(() => { done(); resolve(false); }, ms);
    const done = (): void => { clearTimeout(timer); watchers.delete(check); };
    watchers.add(check);
    check();
  });

  assert.ok(await seen(3, 20_000), `the container's first lines arrive (${stderr})`);
  const pids = stopped();
  assert.ok(pids.length > 0, `${what} is running`);
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  const during = out.split('\n').length;
  // 20 more lines take about a second; through the stopped process nothing would come now
  const flowed = await seen(25, 10_000);
  for (const pid of pids) process.kill(pid, 'SIGCONT');
  assert.ok(flowed, `output went on while ${what} was stopped (had ${during - 1} lines when it stopped, ${out.split('\n').length - 1} after)`);

  assert.equal(await exited, 0, stderr);
  const lines = out.split('\n').filter(Boolean);
  assert.deepEqual(lines, Array.from({ length: 30 }, (_, i) => `line ${i + 1}`), 'every line once, in order');
}

test('a run attached streams from the shim while the core is stopped', { skip: skipBerthd }, async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-direct-'));
  l = layout(dir);
  b = await ready(spawnBerthd(l));
  assert.equal(docker(b.sock, ['import', busyboxTar(dir), 'busybox']).status, 0);
  const lay = l;
  await streamsWhileStopped(b.sock, 'the core', () => corePids(lay));
});

test('the shim writes a run attached\'s output to the client\'s connection itself: it flows while berthd is stopped', { skip: skipBerthd }, async () => {
  assert.ok(b && l, 'berthd from the test above');
  const pid = b.proc.pid;
  assert.ok(pid, 'berthd has a pid');
  // relayed by berthd (BERTH_ATTACH_NO_HANDOVER=1), nothing would come while it is stopped
  await streamsWhileStopped(b.sock, 'berthd', () => [pid]);
});

test('a client that stops reading holds the container back, and then gets every byte', { skip: skipBerthd }, async () => {
  assert.ok(b && l, 'berthd from the test above');
  const sock = b.sock;
  const total = 20_000_000;
  const created = await call(sock, 'POST', '/v1.47/containers/create', JSON.stringify({
    Image: 'busybox', Cmd: ['sh', '-c', `yes 0123456789abcdef | head -c ${total}`], AttachStdout: true, AttachStderr: true,
  }), { 'content-type': 'application/json' });
  assert.equal(created.status, 201, created.body);
  const id = (JSON.parse(created.body) as { Id: string }).Id;

  // the docker CLI's attach, by hand: an upgraded connection that is not read for a while
  const conn = connect(sock);
  await new Promise<void>((resolve, reject) => { conn.once('connect', resolve); conn.once('error', reject); });
  conn.write(`POST /v1.47/containers/${id}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
  const received: Buffer[] = [];
  const head = await new Promise<string>((resolve) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      conn.off('data', onData);
      conn.pause();
      if (end + 4 < buf.length) received.push(buf.subarray(end + 4));
      resolve(buf.subarray(0, end).toString());
    };
    conn.on('data', onData);
  });
  assert.match(head, /^HTTP\/1\.1 101/, head);
  const ended = new Promise<void>((resolve) => conn.once('end', resolve));
  assert.equal((await call(sock, 'POST', `/v1.47/containers/${id}/start`)).status, 204);

  // about 1 s of output for this container on its own; held back by the client, it is still running
  await new Promise((r) => setTimeout(r, 3000));
  const running = JSON.parse((await call(sock, 'GET', `/v1.47/containers/${id}/json`)).body) as { State: { Running: boolean } };
  assert.equal(running.State.Running, true, 'the container waits for its attacher');

  conn.on('data', (d: Buffer) => received.push(d));
  conn.resume();
  await ended;
  const stream = Buffer.concat(received);
  let stdout = 0;
  for (let off = 0; off + 8 <= stream.length;) {
    const n = stream.readUInt32BE(off + 4);
    if (stream[off] === 1) stdout += n;
    off += 8 + n;
  }
  assert.equal(stdout, total, 'every byte reached the client');
  const waited = JSON.parse((await call(sock, 'POST', `/v1.47/containers/${id}/wait`)).body) as { StatusCode: number };
  assert.equal(waited.StatusCode, 0);
  conn.destroy();
});

test('an exec stream outlives the core\'s death: berthd attaches again and the output after it arrives, once', { skip: skipBerthd }, async () => {
  assert.ok(b && l, 'berthd from the tests above');
  const sock = b.sock;
  const layoutNow = l;
  assert.equal(docker(sock, ['run', '-d', '--name', 'ex', 'busybox', 'sleep', '300']).status, 0);
  const made = await call(sock, 'POST', '/v1.47/containers/ex/exec', JSON.stringify({ Cmd: ['sh', '-c', 'echo early; sleep 2; echo late; echo err >&2; exit 3'], AttachStdout: true, AttachStderr: true }), { 'content-type': 'application/json' });
  assert.equal(made.status, 201, made.body);
  const id = (JSON.parse(made.body) as { Id: string }).Id;
  // the exec's output comes through the core (its log is replayed first): killing the core must not cut it
  const started = new Promise<Buffer>((resolve, reject) => {
    const req = request({ socketPath: sock, agent: false, method: 'POST', path: `/v1.47/exec/${id}/start`, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ Detach: false, Tty: false }));
  });
  await new Promise((r) => setTimeout(r, 700));
  const cores = corePids(layoutNow);
  for (const pid of cores) process.kill(pid, 'SIGKILL');
  const body = await started;
  const frames: { stream: number; text: string }[] = [];
  for (let off = 0; off + 8 <= body.length;) {
    const n = body.readUInt32BE(off + 4);
    frames.push({ stream: body[off]!, text: body.subarray(off + 8, off + 8 + n).toString() });
    off += 8 + n;
  }
  assert.equal(frames.find((f) => f.stream === 3), undefined, `no system-error frame (frames: ${JSON.stringify(frames)})`);
  const text = (stream: number): string => frames.filter((f) => f.stream === stream).map((f) => f.text).join('');
  assert.equal(text(1), 'early\nlate\n', 'stdout whole, nothing repeated');
  assert.equal(text(2), 'err\n');
  const inspected = JSON.parse((await call(sock, 'GET', `/v1.47/exec/${id}/json`)).body) as { Running: boolean; ExitCode: number };
  assert.equal(inspected.Running, false);
  assert.equal(inspected.ExitCode, 3, 'the exit code is known though the core died under the wait');
  // berthd brings its core back; the container carries on
  for (let i = 0; i < 100 && !corePids(layoutNow).some((p) => !cores.includes(p)); i++) await new Promise((r) => setTimeout(r, 100));
  let rm = docker(sock, ['rm', '-f', 'ex']);
  for (let i = 0; i < 50 && rm.status !== 0; i++) { await new Promise((r) => setTimeout(r, 200)); rm = docker(sock, ['rm', '-f', 'ex']); }
  assert.equal(rm.status, 0, rm.stderr);
});
