/**
 * dockerode (the Node client most tools build on) against berthd: create,
 * start, logs (multiplexed, demuxed with its own demuxStream), exec (output
 * over the hijacked stream, exit code from exec inspect), stop, remove.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import { networkInstance } from '../../src/daemon/network/setup.js';
import { busyboxTar, corePids, docker, layout, leftovers, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';

const skip = skipBerthd;
let dir: string;
let l: Layout;
let b: Berthd;
let client: Docker;

function importBusybox(): void {
  const tar = busyboxTar(dir, { 'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n' });
  const r = docker(l.sock, ['import', '-c', 'ENV PATH=/bin', '-c', 'CMD ["sh"]', tar, 'busybox:latest']);
  assert.equal(r.status, 0, r.stderr);
}

/** Reads a multiplexed stream to its end, split by dockerode's demuxer. */
function demux(stream: NodeJS.ReadableStream): Promise<{ out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (c: Buffer) => { o += c.toString(); });
  err.on('data', (c: Buffer) => { e += c.toString(); });
  client.modem.demuxStream(stream, out, err);
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve({ out: o, err: e }));
    stream.on('error', reject);
  });
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'dockerode-'));
  l = { ...layout(dir), execRoot: mkdtempSync('/run/bo') };
  b = await ready(spawnBerthd(l));
  importBusybox();
  client = new Docker({ socketPath: l.sock });
});

after(async () => {
  if (skip) return;
  const ids = docker(l.sock, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) docker(l.sock, ['rm', '-f', ...ids]);
  await stop(b);
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  await new Promise((r) => setTimeout(r, 300));
  const inst = networkInstance(l.execRoot);
  for (const t of [`inet ${inst.table}`, `ip ${inst.table}-nat`, `bridge ${inst.table}`]) spawnSync('nft', ['delete', 'table', ...t.split(' ')]);
  spawnSync('ip', ['link', 'del', inst.bridge]);
  spawnSync('sh', ['-c', `grep -oE ' (${dir}|${l.execRoot})[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
  assert.deepEqual(leftovers(l), [], 'processes left behind');
  rmSync(dir, { recursive: true, force: true });
  rmSync(l.execRoot, { recursive: true, force: true });
});

test('dockerode: ping and version', { skip }, async () => {
  assert.equal(String(await client.ping()), 'OK');
  const v = await client.version();
  assert.match(v.ApiVersion, /^1\.4[1-7]$/);
  assert.equal(v.Os, 'linux');
});

test('dockerode: create, start, logs, exec, stop, remove', { skip }, async () => {
  const c = await client.createContainer({
    Image: 'busybox:latest', name: 'node-made', Labels: { by: 'dockerode' },
    Cmd: ['sh', '-c', 'echo to-out; echo to-err >&2; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done'],
  });
  assert.match(c.id, /^[0-9a-f]{64}$/);
  await c.start();
  const info = await c.inspect();
  assert.equal(info.State.Status, 'running');
  assert.equal(info.Name, '/node-made');
  assert.equal(info.Config.Labels.by, 'dockerode');

  // logs: the multiplexed stream split into stdout and stderr
  let logs = { out: '', err: '' };
  const deadline = Date.now() + 5000;
  while (!logs.err.includes('to-err') && Date.now() < deadline) {
    logs = await demux(await c.logs({ stdout: true, stderr: true, follow: true, until: Math.ceil(Date.now() / 1000) + 1 }));
  }
  assert.equal(logs.out, 'to-out\n');
  assert.equal(logs.err, 'to-err\n');
  const buffered = await c.logs({ stdout: true, stderr: false, follow: false });
  assert.ok(Buffer.isBuffer(buffered));
  assert.equal(buffered[0], 1, 'stdcopy frame for stdout');
  assert.equal(buffered.subarray(8).toString(), 'to-out\n');

  // exec: output over the hijacked stream, exit code from exec inspect
  const exec = await c.exec({ Cmd: ['sh', '-c', 'echo inside $((6*7)); echo oops >&2; exit 3'], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const got = await demux(stream);
  assert.equal(got.out, 'inside 42\n');
  assert.equal(got.err, 'oops\n');
  const ei = await exec.inspect();
  assert.equal(ei.Running, false);
  assert.equal(ei.ExitCode, 3);

  const listed = await client.listContainers({ filters: { label: ['by=dockerode'] } });
  assert.deepEqual(listed.map((x) => x.Names[0]), ['/node-made']);
  assert.equal(listed[0]!.State, 'running');

  await c.stop({ t: 5 });
  const stopped = await c.inspect();
  assert.equal(stopped.State.Status, 'exited');
  assert.equal(stopped.State.ExitCode, 0);
  const last = await c.logs({ stdout: true, stderr: false, follow: false, tail: 1 });
  assert.equal(last.subarray(8).toString(), 'bye\n');
  await c.remove();
  await assert.rejects(c.inspect(), (err: { statusCode?: number; message?: string }) => err.statusCode === 404 && /No such container/.test(err.message ?? ''));
});
