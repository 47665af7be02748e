/**
 * What berthd remembers to spare core round trips and mounts, checked
 * through the docker CLI where remembering wrongly would show: image
 * lookups (a tag moved by tag, import or rmi is seen by the next create),
 * an image's passwd/group/WorkingDir (per image: two images with the same
 * user name and different uids), the spec sent at create (an update before
 * the first start reaches the container), and the removal paths that now
 * run steps in parallel (rm -f of a running container: its exit code to
 * waiters, kill/die/destroy in order, nothing left; run --rm's exit code).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxTar, DOCKER, docker, dockerOk, layout, ready, skipBerthd, spawnBerthd, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';

const skip = skipBerthd;
let dir: string;
let l: Layout;
let b: Berthd;

const ok = (args: string[]): string => dockerOk(b.sock, args).trim();

/** A busybox root filesystem whose passwd names `app` with `uid` (home /srv/app), as a tar. */
function image(uid: number): string {
  return busyboxTar(dir, {
    'etc/passwd': `root:x:0:0:root:/root:/bin/sh\napp:x:${uid}:${uid}:app:/srv/app:/bin/sh\n`,
    'etc/group': `root:x:0:\napp:x:${uid}:\n`,
    'srv/app/.keep': '',
  });
}

let idA = '';
let idB = '';

before(async () => {
  if (skip) return;
  dir = mkdtempSync('/tmp/f-');
  l = layout(dir);
  b = await ready(spawnBerthd(l));
  idA = ok(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/bin', '--change', 'ENV WHICH=a', image(1111), 'fp-a:1']);
  idB = ok(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/bin', '--change', 'ENV WHICH=b', image(2222), 'fp-b:1']);
});

after(async () => {
  if (skip) return;
  assert.deepEqual(await teardownBerthd(b, l, dir), []);
});

const imageOf = (ref: string): string => ok(['inspect', '--format', '{{.Image}}', ref]);
const run = (args: string[]): string => ok(['run', '--rm', ...args]);

test('a tag moved by tag, import or rmi is seen by the next create', { skip }, () => {
  ok(['tag', 'fp-a:1', 'fp:moving']);
  assert.equal(imageOf(ok(['create', 'fp:moving', 'true'])), idA);
  assert.equal(run(['fp:moving', 'sh', '-c', 'echo $WHICH']), 'a');
  ok(['tag', 'fp-b:1', 'fp:moving']);
  assert.equal(imageOf(ok(['create', 'fp:moving', 'true'])), idB);
  assert.equal(run(['fp:moving', 'sh', '-c', 'echo $WHICH']), 'b');
  ok(['rmi', 'fp:moving']);
  const gone = docker(b.sock, ['create', '--pull', 'never', 'fp:moving', 'true']);
  assert.notEqual(gone.status, 0);
  assert.match(gone.stderr, /No such image: fp:moving/);
  const again = ok(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/bin', '--change', 'ENV WHICH=c', image(3333), 'fp:moving']);
  assert.equal(imageOf(ok(['create', 'fp:moving', 'true'])), again);
  assert.equal(run(['fp:moving', 'sh', '-c', 'echo $WHICH']), 'c');
});

test("users and WorkingDir come from each container's own image, first and next times", { skip }, () => {
  for (let i = 0; i < 2; i++) {
    assert.equal(run(['--user', 'app', 'fp-a:1', 'id', '-u']), '1111');
    assert.equal(run(['--user', 'app', 'fp-b:1', 'id', '-u']), '2222');
    assert.equal(run(['--user', 'app', 'fp-a:1', 'sh', '-c', 'echo $HOME']), '/srv/app');
    assert.equal(run(['-w', '/srv/app', 'fp-a:1', 'pwd']), '/srv/app');
    // a WorkingDir the image lacks is made in each container, owned by its user
    assert.equal(run(['-w', '/made/here', '--user', 'app', 'fp-b:1', 'sh', '-c', 'pwd; stat -c %u .']), '/made/here\n2222');
    const none = docker(b.sock, ['create', '--user', 'nobody', 'fp-a:1', 'true']);
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /unable to find user nobody/);
  }
});

test('an update before the first start reaches the container (the spec sent at create is replaced)', { skip }, () => {
  const id = ok(['create', '--name', 'upd', 'fp-a:1', 'sleep', '60']);
  ok(['update', '--memory', '64m', '--memory-swap', '64m', 'upd']);
  ok(['start', 'upd']);
  const limit = ok(['exec', 'upd', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']);
  assert.equal(limit, String(64 * 1024 * 1024));
  ok(['rm', '-f', id]);
});

test('rm -f of a running container: 137 to its waiters, kill, die and destroy in order, nothing left', { skip }, async () => {
  const id = ok(['run', '-d', '--name', 'victim', 'fp-a:1', 'sleep', '600']);
  const since = Math.floor(Date.now() / 1000) - 1;
  const waiter = spawn(DOCKER, ['-H', `unix://${b.sock}`, 'wait', id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let waited = '';
  waiter.stdout.on('data', (d: Buffer) => { waited += d.toString(); });
  const waiterDone = new Promise((r) => waiter.on('exit', r));
  await new Promise((r) => setTimeout(r, 500));
  ok(['rm', '-f', 'victim']);
  await waiterDone;
  assert.equal(waited.trim(), '137');
  assert.equal(docker(b.sock, ['inspect', id]).status, 1);
  const events = ok(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000)), '--filter', `container=${id}`, '--filter', 'type=container', '--format', '{{.Action}}']);
  const actions = events.split('\n').filter((a) => ['kill', 'die', 'destroy'].includes(a));
  assert.deepEqual(actions, ['kill', 'die', 'destroy']);
  assert.equal(existsSync(join(l.execRoot, 'netns', id)), false, 'network namespace gone');
  assert.equal(existsSync(join(l.dataRoot, 'containers', id)), false, 'files gone');
  // the name is free at once
  ok(['rm', '-f', ok(['create', '--name', 'victim', 'fp-a:1', 'true'])]);
});

test("run --rm: the exit code, and the container gone when the CLI returns", { skip }, () => {
  const r = docker(b.sock, ['run', '--rm', '--name', 'brief', 'fp-b:1', 'sh', '-c', 'echo out; exit 7']);
  assert.equal(r.status, 7, r.stderr);
  assert.equal(r.stdout, 'out\n');
  assert.equal(docker(b.sock, ['inspect', 'brief']).status, 1);
  assert.equal(ok(['ps', '-aq', '--filter', 'name=brief']), '');
});
