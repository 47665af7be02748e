/**
 * berthd's image routes driven by the real docker CLI: import with
 * --change, images/inspect/history/tag, push to a real docker-registry,
 * rmi (untag, delete, 409 while a container uses it), pull with dockerd's
 * progress lines, save | load both ways with Debian's dockerd, prune,
 * system df, search refused, login + push/pull on a basic-auth registry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreClient } from '../../src/core/client.js';
import type { Container } from '../../src/core/api/types.js';
import { call, docker, layout, leftovers, ready, skipBerthd, spawnBerthd, stop, corePids, type Berthd, type Layout } from '../helpers/berthd.js';
import { Engines } from '../helpers/engines.js';
import { registrySkip, startRegistry, type TestRegistry } from '../helpers/registry.js';

const skip = skipBerthd || registrySkip;

let dir: string;
let l: Layout;
let b: Berthd;
let reg: TestRegistry;
let rootfsTar: string;

/** A busybox root filesystem tar: /bin/busybox with a few applets, /data/greeting owned by 1000:1000, mode 0750. */
function makeRootfsTar(into: string): string {
  const root = join(into, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'data'));
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'cat', 'ls', 'echo', 'true']) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'data', 'greeting'), 'hello from the image\n');
  chownSync(join(root, 'data'), 1000, 1000);
  chmodSync(join(root, 'data'), 0o750);
  const tar = join(into, 'busybox.tar');
  const r = spawnSync('tar', ['-C', root, '-cf', tar, '.']);
  assert.equal(r.status, 0);
  return tar;
}

function ok(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = docker(b.sock, args, env);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function fails(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = docker(b.sock, args, env);
  assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr;
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-h32-img-'));
  l = layout(dir);
  rootfsTar = makeRootfsTar(dir);
  reg = await startRegistry('anonymous');
  b = await ready(spawnBerthd(l));
  ok(['import', '-c', 'CMD ["sh"]', '-c', 'VOLUME /data', '-c', 'LABEL origin=test', '-m', 'first import', rootfsTar, 'busybox:latest']);
});

after(async () => {
  if (skip) return;
  await stop(b);
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  await reg.stop();
  spawnSync('umount', ['-R', '-l', l.dataRoot]);
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(leftovers(l), []);
});

test('import with --change and --message; images, inspect, history', { skip }, () => {
  const id = ok(['inspect', '--format', '{{.Id}}', 'busybox']).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  const fields = ok(['inspect', '--format', '{{json .RepoTags}} {{json .Config.Cmd}} {{json .Config.Volumes}} {{.Config.Labels.origin}} {{.Comment}}', 'busybox']).trim();
  assert.equal(fields, '["busybox:latest"] ["sh"] {"/data":{}} test first import');
  // by short ID and by full ID
  assert.equal(ok(['inspect', '--format', '{{.Id}}', id.slice(7, 19)]).trim(), id);
  assert.equal(ok(['inspect', '--format', '{{.Id}}', id]).trim(), id);
  const table = ok(['images']).split('\n');
  assert.match(table[0]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.match(table[1]!, new RegExp(`^busybox\\s+latest\\s+${id.slice(7, 19)}\\s+.+\\s+[0-9.]+MB$`));
  assert.equal(ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).trim(), `busybox:latest ${id.slice(7, 19)}`);
  const history = ok(['history', '--format', '{{.ID}} {{.Comment}}', 'busybox']).trim();
  assert.equal(history, `${id.slice(7, 19)} first import`);
  assert.match(fails(['image', 'inspect', 'nosuch:image']), /No such image: nosuch:image/);
});

test('tag, push to a registry, rmi untags then deletes, pull with progress', { skip }, () => {
  const id = ok(['inspect', '--format', '{{.Id}}', 'busybox']).trim();
  const remote = `${reg.host}/bb:1`;
  ok(['tag', 'busybox', remote]);
  assert.equal(ok(['inspect', '--format', '{{.Id}}', remote]).trim(), id);
  const pushed = ok(['push', remote]);
  assert.match(pushed, new RegExp(`The push refers to repository \\[${reg.host.replace(/\./g, '\\.')}/bb\\]`));
  assert.match(pushed, /[0-9a-f]{12}: Pushed/);
  assert.match(pushed, /1: digest: sha256:[0-9a-f]{64} size: [0-9]+/);
  // two names: removing one only untags
  assert.equal(ok(['rmi', remote]).trim(), `Untagged: ${remote}`);
  assert.equal(ok(['inspect', '--format', '{{.Id}}', 'busybox']).trim(), id);
  // the last name: untag and delete
  ok(['tag', 'busybox', remote]);
  ok(['rmi', 'busybox']);
  const removed = ok(['rmi', remote]);
  assert.match(removed, new RegExp(`Untagged: ${remote.replace(/\./g, '\\.')}`));
  assert.match(removed, new RegExp(`Deleted: ${id}`));
  assert.equal(ok(['images', '-q']).trim(), '');
  const pulled = ok(['pull', remote]);
  assert.match(pulled, /^1: Pulling from bb$/m);
  assert.match(pulled, /^[0-9a-f]{12}: Pulling fs layer$/m);
  assert.match(pulled, /^[0-9a-f]{12}: Pull complete$/m);
  assert.match(pulled, /^Digest: sha256:[0-9a-f]{64}$/m);
  assert.match(pulled, new RegExp(`Status: Downloaded newer image for ${remote.replace(/\./g, '\\.')}\\n`));
  const again = ok(['pull', remote]);
  assert.match(again, /Status: Image is up to date for/);
  assert.doesNotMatch(again, /Pulling fs layer/);
  assert.equal(ok(['inspect', '--format', '{{.Id}}', remote]).trim(), id);
  assert.match(ok(['inspect', '--format', '{{json .RepoDigests}}', remote]), new RegExp(`"${reg.host.replace(/\./g, '\\.')}/bb@sha256:[0-9a-f]{64}"`));
  ok(['tag', remote, 'busybox']);
  ok(['rmi', remote]);
  // an unknown tag fails inside the stream, with the registry's reason
  assert.match(fails(['pull', `${reg.host}/bb:nope`]), /nope|not found|unknown/i);
});

test('rmi while a container uses the image: 409 with docker\'s message, another name still untags', { skip }, async () => {
  const id = ok(['inspect', '--format', '{{.Id}}', 'busybox']).trim();
  const core = new CoreClient(join(l.execRoot, 'core.sock'), 'berthd');
  const cid = 'c0ffee'.padEnd(64, '0');
  const spec = Buffer.from(JSON.stringify({ ociVersion: '1.0.2', process: { args: ['true'], cwd: '/' }, root: { path: 'rootfs' } }));
  await core.containers.Create({ container: { id: cid, image: 'docker.io/library/busybox:latest', spec, runtime: { name: '', options: Buffer.alloc(0) }, rootfs: '/tmp', labels: {} } as unknown as Container });
  try {
    assert.match(fails(['rmi', 'busybox']),
      new RegExp(`conflict: unable to remove repository reference "busybox" \\(must force\\) - container ${cid.slice(0, 12)} is using its referenced image ${id.slice(7, 19)}`));
    assert.match(fails(['rmi', id.slice(7, 19)]), new RegExp(`conflict: unable to delete ${id.slice(7, 19)} \\(must be forced\\) - image is being used by stopped container ${cid.slice(0, 12)}`));
    const res = await call(b.sock, 'DELETE', '/v1.45/images/busybox');
    assert.equal(res.status, 409);
    // a second name can go: the image stays
    ok(['tag', 'busybox', 'other:1']);
    assert.equal(ok(['rmi', 'other:1']).trim(), 'Untagged: other:1');
    // the containers count of the image
    assert.match(ok(['system', 'df', '--format', '{{.Type}} {{.Active}}']), /Images 1/);
  } finally {
    await core.containers.Delete({ id: cid });
    core.close();
  }
});

test('save | load round trip, and archives exchanged with Debian\'s dockerd', { skip, timeout: 120_000 }, async () => {
  const id = ok(['inspect', '--format', '{{.Id}}', 'busybox']).trim();
  const archive = join(dir, 'saved.tar');
  ok(['save', '-o', archive, 'busybox']);
  ok(['rmi', 'busybox']);
  assert.equal(ok(['load', '-i', archive]).trim(), 'Loaded image: busybox:latest');
  assert.equal(ok(['inspect', '--format', '{{.Id}}', 'busybox']).trim(), id);
  // piped through stdin as `docker save | docker load` does
  const saved = spawnSync('/usr/local/bin/docker', ['-H', `unix://${b.sock}`, 'save', 'busybox'], { maxBuffer: 64 << 20 });
  assert.equal(saved.status, 0);
  const loaded = spawnSync('/usr/local/bin/docker', ['-H', `unix://${b.sock}`, 'load'], { input: saved.stdout, encoding: 'utf8' });
  assert.equal(loaded.stdout.trim(), 'Loaded image: busybox:latest');

  const engines = await Engines.start({ runtimes: {}, dockerd: true });
  try {
    assert.match(engines.dockerOk(['load', '-i', archive]), /Loaded image: busybox:latest/);
    assert.equal(engines.dockerOk(['run', '--rm', 'busybox', 'cat', '/data/greeting']).trim(), 'hello from the image');
    assert.equal(engines.dockerOk(['inspect', '--format', '{{json .Config.Cmd}}', 'busybox']).trim(), '["sh"]');
    engines.dockerOk(['tag', 'busybox', 'fromdocker:2']);
    const back = join(dir, 'from-dockerd.tar');
    engines.dockerOk(['save', '-o', back, 'fromdocker:2']);
    assert.equal(ok(['load', '-i', back]).trim(), 'Loaded image: fromdocker:2');
    assert.equal(ok(['inspect', '--format', '{{json .Config.Cmd}}', 'fromdocker:2']).trim(), '["sh"]');
    ok(['rmi', 'fromdocker:2']);
  } finally {
    await engines.stop();
  }
});

test('image prune removes dangling images only; -a the unused ones', { skip }, () => {
  const dangling = ok(['import', rootfsTar]).trim();
  assert.match(dangling, /^sha256:[0-9a-f]{64}$/);
  ok(['import', '-c', 'ENV A=1', rootfsTar, 'keep:1']);
  assert.equal(ok(['images', '-q', '--filter', 'dangling=true']).trim(), dangling.slice(7, 19));
  const pruned = ok(['image', 'prune', '-f']);
  assert.match(pruned, new RegExp(`deleted: ${dangling}`));
  // its only layer stays, with keep:1 and busybox (the same tar): dockerd counts removed layers, so nothing
  assert.match(pruned, /Total reclaimed space: 0B$/m);
  assert.equal(ok(['images', '-q', '--filter', 'dangling=true']).trim(), '');
  assert.match(ok(['images', '--format', '{{.Repository}}']), /keep/);
  assert.equal(ok(['images', '--filter', 'reference=kee*', '--format', '{{.Repository}}:{{.Tag}}']).trim(), 'keep:1');
  assert.match(ok(['images', '--filter', 'label=origin=test', '--format', '{{.Repository}}']), /busybox/);
  const all = ok(['image', 'prune', '-a', '-f', '--filter', 'label!=origin=test']);
  assert.match(all, /untagged: keep:1/);
  assert.match(all, /Total reclaimed space: 0B$/m, 'keep:1\'s layer stays with busybox');
  assert.doesNotMatch(ok(['images', '--format', '{{.Repository}}']), /keep/);
});

test('system df, /info counts, search refused', { skip }, async () => {
  const df = ok(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
  assert.match(df, /^Images 1$/m);
  assert.match(ok(['info', '--format', '{{.Images}}']).trim(), /^1$/);
  const verbose = ok(['system', 'df', '-v']);
  assert.match(verbose, /busybox\s+latest/);
  const res = await call(b.sock, 'GET', '/v1.45/images/search?term=busybox');
  assert.equal(res.status, 501);
  assert.match(JSON.parse(res.body).message, /not supported/);
});

test('docker login, then push and pull on a basic-auth registry', { skip, timeout: 60_000 }, async () => {
  const secure = await startRegistry('basic');
  const config = mkdtempSync(join(tmpdir(), 'berth-h32-cfg-'));
  try {
    const env = { DOCKER_CONFIG: config };
    const name = `${secure.host}/private/bb:2`;
    ok(['tag', 'busybox', name]);
    assert.match(fails(['push', name], env), /requires authentication|unauthorized|401/i);
    assert.match(fails(['login', '-u', secure.username, '-p', 'wrong', secure.host], env), /401|unauthorized/i);
    assert.match(ok(['login', '-u', secure.username, '-p', secure.password, secure.host], env), /Login Succeeded/);
    assert.match(ok(['push', name], env), /2: digest: sha256:/);
    ok(['rmi', name]);
    assert.match(ok(['pull', name], env), /Status: Downloaded newer image for/);
    ok(['rmi', name]);
    // a client holding no credentials: berthd uses those of the login it checked
    const bare = mkdtempSync(join(tmpdir(), 'berth-h32-cfg-'));
    try {
      assert.match(ok(['pull', name], { DOCKER_CONFIG: bare }), /Status: Downloaded newer image for/);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
    ok(['rmi', name]);
  } finally {
    rmSync(config, { recursive: true, force: true });
    await secure.stop();
  }
});
