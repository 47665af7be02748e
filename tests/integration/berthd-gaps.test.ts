/**
 * Places where berthd once answered differently from dockerd (each
 * checked against Debian's dockerd first), driven by the real docker CLI:
 * /info's container counts come from what `docker ps -a` lists, an
 * imported image has no RepoDigest until it is pushed, State.Health
 * survives a kill -9 of berthd, an exec's inspect gives its host pid, and
 * a removal that fails leaves the container dead.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/runtime.js';
import { busyboxTar, call, docker, dockerOk, layout, ready, skipBerthd, spawnBerthd, stop, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';
import { registrySkip, startRegistry } from '../helpers/registry.js';

const skip = skipBerthd;
let dir: string;
let l: Layout;
let b: Berthd;

const ok = (args: string[]): string => dockerOk(b.sock, args).trim();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-h59-'));
  l = layout(dir);
  b = await ready(spawnBerthd(l));
  ok(['import', busyboxTar(dir), 'bb:1']);
});

after(async () => {
  if (skip) return;
  assert.deepEqual(await teardownBerthd(b, l, dir), []);
});

test('/info counts the containers docker ps -a lists, in the states it shows', { skip }, () => {
  ok(['create', '--name', 'made', 'bb:1', 'sleep', '300']);
  ok(['run', '-d', '--name', 'up', 'bb:1', 'sleep', '300']);
  ok(['run', '-d', '--name', 'held', 'bb:1', 'sleep', '300']);
  ok(['pause', 'held']);
  ok(['run', '--name', 'done', 'bb:1', 'true']);
  // a core container in berthd's namespace that berthd never made: not a container of docker ps -a
  const rootfs = join(dir, 'foreign-rootfs');
  mkdirSync(rootfs);
  const ctr = spawnSync(join(REPO, 'bin', 'berth-ctr'), ['--address', join(l.execRoot, 'core.sock'), '-n', 'berthd', 'containers', 'create', '--rootfs', rootfs, 'foreign', '--', '/bin/true'], { encoding: 'utf8' });
  assert.equal(ctr.status, 0, ctr.stderr);
  try {
    const ps = ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']).split('\n').sort();
    assert.deepEqual(ps, ['done exited', 'held paused', 'made created', 'up running']);
    const info = JSON.parse(ok(['info', '--format', '{{json .}}'])) as Record<string, unknown>;
    assert.deepEqual([info.Containers, info.ContainersRunning, info.ContainersPaused, info.ContainersStopped], [4, 1, 1, 2]);
  } finally {
    spawnSync(join(REPO, 'bin', 'berth-ctr'), ['--address', join(l.execRoot, 'core.sock'), '-n', 'berthd', 'containers', 'rm', 'foreign']);
    ok(['rm', '-f', 'made', 'up', 'held', 'done']);
  }
});

test('an imported image has no RepoDigest until it is pushed; a pull gives one', { skip: skip || registrySkip }, async () => {
  const reg = await startRegistry('anonymous');
  const remote = `${reg.host}/gaps:1`;
  try {
    ok(['import', busyboxTar(dir, { '/etc/imported': 'yes\n' }), remote]);
    assert.equal(ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', remote]), '[]');
    assert.equal(ok(['images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}', reg.host + '/gaps']), `${remote} <none>`);
    // a tag of it has none either
    ok(['tag', remote, 'gaps-local:1']);
    assert.equal(ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', 'gaps-local:1']), '[]');
    const pushed = /1: digest: (sha256:[0-9a-f]{64})/.exec(ok(['push', remote]))?.[1];
    assert.ok(pushed, 'push printed its digest');
    // pushed: the registry's digest of that repository, and only of it
    assert.equal(ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', remote]), JSON.stringify([`${reg.host}/gaps@${pushed}`]));
    assert.equal(ok(['images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}', reg.host + '/gaps']), `${remote} ${pushed}`);
    ok(['rmi', remote, 'gaps-local:1']);
    ok(['pull', remote]);
    assert.equal(ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', remote]), JSON.stringify([`${reg.host}/gaps@${pushed}`]));
  } finally {
    docker(b.sock, ['rmi', '-f', remote, 'gaps-local:1']);
    await reg.stop();
  }
});

test('State.Health survives a kill -9 of berthd: healthy at once, probes go on', { skip, timeout: 60_000 }, async () => {
  ok(['run', '-d', '--name', 'checked', '--health-cmd', 'true', '--health-interval', '500ms', 'bb:1', 'sleep', '300']);
  const health = (): { Status: string; FailingStreak: number; Log: { End: string }[] } => JSON.parse(ok(['inspect', '--format', '{{json .State.Health}}', 'checked'])) as never;
  const deadline = Date.now() + 20_000;
  while (health().Status !== 'healthy' || health().Log.length < 2) {
    assert.ok(Date.now() < deadline, `never healthy: ${JSON.stringify(health())}`);
    await sleep(200);
  }
  await stop(b, 'SIGKILL');
  b = await ready(spawnBerthd(l));
  const after = health();
  assert.equal(after.Status, 'healthy', JSON.stringify(after));
  assert.ok(after.Log.length >= 2, JSON.stringify(after));
  assert.match(ok(['ps', '--filter', 'name=checked', '--format', '{{.Status}}']), /\(healthy\)$/);
  // probing goes on: a newer result than any from before the kill
  const lastBefore = after.Log.at(-1)!.End;
  const until = Date.now() + 15_000;
  while (health().Log.at(-1)!.End === lastBefore) {
    assert.ok(Date.now() < until, 'no probe after the restart');
    await sleep(200);
  }
  assert.equal(health().Status, 'healthy');
  // stopped, it is unhealthy with its log kept, as in dockerd
  ok(['stop', '-t', '1', 'checked']);
  const stopped = health();
  assert.equal(stopped.Status, 'unhealthy');
  assert.ok(stopped.Log.length >= 2);
  ok(['rm', 'checked']);
});

test('exec inspect gives the host pid of a running exec', { skip }, async () => {
  ok(['run', '-d', '--name', 'execd', 'bb:1', 'sleep', '300']);
  try {
    const created = await call(b.sock, 'POST', '/containers/execd/exec', JSON.stringify({ Cmd: ['sleep', '30'] }), { 'Content-Type': 'application/json' });
    assert.equal(created.status, 201, created.body);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    const started = await call(b.sock, 'POST', `/exec/${id}/start`, JSON.stringify({ Detach: true }), { 'Content-Type': 'application/json' });
    assert.ok(started.status < 300, started.body);
    const inspected = JSON.parse((await call(b.sock, 'GET', `/exec/${id}/json`)).body) as { Pid: number; Running: boolean };
    assert.equal(inspected.Running, true);
    assert.ok(inspected.Pid > 0, `pid ${inspected.Pid}`);
    assert.equal(readFileSync(`/proc/${inspected.Pid}/cmdline`, 'utf8'), 'sleep\x0030\x00');
    // and as docker exec -d leaves it: listed by the container's top
    ok(['exec', '-d', 'execd', 'sleep', '31']);
    assert.match(ok(['top', 'execd']), /sleep 31/);
  } finally {
    ok(['rm', '-f', 'execd']);
  }
});

test('a removal that fails leaves the container dead with the reason, as dockerd does; the next rm finishes it', { skip }, () => {
  const id = ok(['create', '--name', 'doomed', 'bb:1', 'true']);
  // a file that cannot be unlinked makes the removal of the container's directory fail
  const pin = join(l.dataRoot, 'containers', id, 'pinned');
  writeFileSync(pin, 'x');
  const chattr = spawnSync('chattr', ['+i', pin], { encoding: 'utf8' });
  assert.equal(chattr.status, 0, chattr.stderr);
  try {
    const rm = docker(b.sock, ['rm', 'doomed']);
    assert.notEqual(rm.status, 0, 'rm succeeded with an undeletable file in the container directory');
    assert.match(rm.stderr, new RegExp(`unable to remove filesystem for ${id}: unlinkat .*pinned: operation not permitted`));
    assert.equal(ok(['ps', '-a', '--filter', 'status=dead', '--format', '{{.Names}} {{.State}}']), 'doomed dead');
    assert.equal(ok(['inspect', '-f', '{{.State.Dead}} {{.State.Status}}', 'doomed']), 'true dead');
    assert.match(ok(['inspect', '-f', '{{.State.Error}}', 'doomed']), /^unable to remove filesystem for /);
    const start = docker(b.sock, ['start', 'doomed']);
    assert.notEqual(start.status, 0);
    assert.match(start.stderr, /marked for removal/);
  } finally {
    spawnSync('chattr', ['-i', pin]);
  }
  ok(['rm', 'doomed']);
  assert.equal(docker(b.sock, ['inspect', 'doomed']).status, 1);
  assert.equal(existsSync(join(l.dataRoot, 'containers', id)), false);
});
