/**
 * docker commit against berthd, through the docker CLI, as dockerd 20.10
 * answers it: the new image is the container's image plus one layer of its
 * changes (whiteouts, opaque directories, none of what the runtime made for
 * its mounts), with the container's config, the changes and a history entry;
 * it runs, survives a berthd + core restart, saves, pushes to a real
 * registry and pulls back. A running container is paused for the commit and
 * keeps running; refusals leave nothing behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  busyboxTar, corePids, docker, dockerOk, layout, ready, skipBerthd, spawnBerthd, stop, teardownBerthd, type Berthd, type Layout,
} from '../helpers/berthd.js';
import { registrySkip, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { CoreClient } from '../../src/core/client.js';
import { REPO } from '../helpers/runtime.js';

const skip = skipBerthd || registrySkip;
let dir: string;
let l: Layout;
let b: Berthd;
let reg: TestRegistry;

const ok = (args: string[]): string => dockerOk(b.sock, args).trim();
const inspect = (ref: string, format: string): string => ok(['image', 'inspect', '-f', format, ref]);

/** What the core keeps on disk: snapshots, blobs, ingests (a failed commit must add none). */
function stored(): string[] {
  const core = join(l.dataRoot, 'core');
  const ls = (d: string): string[] => { try { return readdirSync(d).map((n) => `${d}/${n}`); } catch { return []; } };
  return [...ls(join(core, 'snapshots', 'overlayfs')), ...ls(join(core, 'content', 'blobs', 'sha256')), ...ls(join(core, 'content', 'ingest'))].sort();
}

/** The entries of an image's last layer, as `docker save` writes it. */
function lastLayerEntries(ref: string): string[] {
  const out = join(dir, `save-${Date.now()}`);
  mkdirSync(out);
  const tar = join(out, 'image.tar');
  ok(['save', '-o', tar, ref]);
  assert.equal(spawnSync('tar', ['-C', out, '-xf', tar]).status, 0);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
  const r = spawnSync('tar', ['-tf', join(out, manifest[0]!.Layers.at(-1)!)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-h63-commit-'));
  l = layout(dir);
  reg = await startRegistry('anonymous');
  b = await ready(spawnBerthd(l));
  ok(['import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["sh"]',
    busyboxTar(dir, { 'etc/group': 'root:x:0:\n', 'etc/keep/a': 'a\n', 'etc/keep/b': 'b\n' }), 'bb:1']);
  ok(['run', '--name', 'c1', '-e', 'FOO=bar', '-w', '/tmp', '-l', 'a=b', 'bb:1', 'sh', '-c',
    'echo hi > /newfile; rm /etc/group; rm -r /etc/keep; mkdir /etc/keep; echo c > /etc/keep/c; ln /newfile /hard; ln -s /newfile /soft']);
});

after(async () => {
  if (skip) return;
  await reg.stop();
  assert.deepEqual(await teardownBerthd(b, l, dir), []);
});

test('commit: one new layer of the changes, the config with the changes, history, and it runs', { skip }, () => {
  const base = inspect('bb:1', '{{len .RootFS.Layers}}');
  const id = ok(['commit', '-c', 'ENV X=1', '-c', 'EXPOSE 8080', '-c', 'ONBUILD RUN true', '-c', 'HEALTHCHECK --interval=5s CMD true', '-a', 'me', '-m', 'first', 'c1', 'x:1']);
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(inspect('x:1', '{{.Id}}'), id);
  assert.equal(inspect('x:1', '{{len .RootFS.Layers}}'), String(Number(base) + 1));
  // the container's config (its command, env, labels, workdir) with the changes over it
  assert.equal(inspect('x:1', '{{json .Config.Cmd}}'), '["sh","-c","echo hi > /newfile; rm /etc/group; rm -r /etc/keep; mkdir /etc/keep; echo c > /etc/keep/c; ln /newfile /hard; ln -s /newfile /soft"]');
  assert.equal(inspect('x:1', '{{json .Config.Env}}'), '["FOO=bar","PATH=/bin","X=1"]');
  assert.equal(inspect('x:1', '{{.Config.WorkingDir}} {{json .Config.Labels}} {{json .Config.ExposedPorts}} {{json .Config.OnBuild}}'), '/tmp {"a":"b"} {"8080/tcp":{}} ["RUN true"]');
  // dockerd 20.10 takes HEALTHCHECK in --change (and refuses STOPSIGNAL, below)
  assert.equal(inspect('x:1', '{{json .Config.Healthcheck}}'), '{"Test":["CMD-SHELL","true"],"Interval":5000000000}');
  const cid = ok(['inspect', '-f', '{{.Id}}', 'c1']);
  assert.equal(inspect('x:1', '{{.Author}}|{{.Comment}}|{{.Container}}|{{json .ContainerConfig.Env}}'), `me|first|${cid}|["FOO=bar","PATH=/bin"]`);
  // history: the new layer first, created_by the container's command as dockerd writes it
  const rows = ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'x:1']).split('\n');
  assert.equal(rows.length, Number(base) + 1);
  assert.match(rows[0]!, /^sh -c echo hi > \/newfile; rm \/etc\/group; .*ln -s \/newfile \/soft\|first$/);
  assert.equal(rows[1], '|Imported from -');
  // the layer: additions, a whiteout, an opaque directory, links; nothing the runtime made
  const entries = lastLayerEntries('x:1');
  for (const e of ['newfile', 'hard', 'soft', 'etc/', 'etc/.wh.group', 'etc/keep/', 'etc/keep/.wh..wh..opq', 'etc/keep/c']) assert.ok(entries.includes(e), `${e} in ${entries.join(' ')}`);
  for (const e of entries) assert.doesNotMatch(e, /^(\.dockerenv|etc\/(hosts|hostname|resolv\.conf|mtab)|dev\/|proc\/|sys\/)/, e);
  // it runs, with the changes
  assert.equal(ok(['run', '--rm', '--entrypoint', 'sh', 'x:1', '-c', 'cat /newfile /hard /soft /etc/keep/c; ls /etc/keep; test -e /etc/group || echo nogroup; echo $X']),
    'hi\nhi\nhi\nc\nc\nnogroup\n1');
});

test('commit with no change adds no layer; without a name the image is dangling; a body config replaces the container\'s', { skip }, () => {
  ok(['create', '--name', 'idle', 'bb:1', 'true']);
  const id = ok(['commit', 'idle']);
  assert.equal(inspect(id, '{{len .RootFS.Layers}}'), inspect('bb:1', '{{len .RootFS.Layers}}'));
  assert.equal(inspect(id, '{{json .RepoTags}}'), '[]');
  assert.ok(ok(['images', '-q', '--no-trunc', '-f', 'dangling=true']).split('\n').includes(id));
  ok(['rm', 'idle']);
  // the API's body: a Config that replaces the container's, merged with it where it is empty
  const r = spawnSync('curl', ['-sf', '--unix-socket', b.sock, '-X', 'POST', '-H', 'Content-Type: application/json', '-d', '{"Cmd":["echo","from-body"],"Env":["Y=2"]}',
    'http://x/v1.41/commit?container=c1&repo=x&tag=body&pause=0'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\{"Id":"sha256:[0-9a-f]{64}"\}/);
  assert.equal(inspect('x:body', '{{json .Config.Cmd}} {{json .Config.Env}} {{.Config.WorkingDir}}'), '["echo","from-body"] ["Y=2","FOO=bar","PATH=/bin"] /tmp');
  assert.equal(ok(['run', '--rm', 'x:body']), 'from-body');
  ok(['rmi', 'x:body']);
});

test('a running container is paused for the commit and keeps running after', { skip }, () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  ok(['run', '-d', '--name', 'live', 'bb:1', 'sh', '-c', 'echo up > /up; sleep 600']);
  for (let i = 0; i < 50 && docker(b.sock, ['exec', 'live', 'cat', '/up']).stdout.trim() !== 'up'; i++) spawnSync('sleep', ['0.1']);
  ok(['commit', 'live', 'x:live']);
  assert.equal(ok(['inspect', '-f', '{{.State.Status}}', 'live']), 'running');
  const actions = ok(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '-f', 'container=live', '--format', '{{.Action}}']).split('\n');
  const at = actions.indexOf('pause');
  assert.ok(at >= 0, actions.join(' '));
  assert.deepEqual(actions.slice(at, at + 3), ['pause', 'commit', 'unpause']);
  // --pause=false: no pause
  ok(['commit', '--pause=false', 'live', 'x:live2']);
  assert.equal(ok(['run', '--rm', 'x:live', 'cat', '/up']), 'up');
  ok(['rm', '-f', 'live']);
  ok(['rmi', 'x:live', 'x:live2']);
});

test('the berth CLI commits as the docker CLI does: flags, output, refusal', { skip }, () => {
  const berth = (args: string[]): ReturnType<typeof spawnSync> => spawnSync(join(REPO, 'bin', 'berth'), ['-H', `unix://${b.sock}`, ...args], {
    encoding: 'utf8', timeout: 30_000, env: { ...process.env, BERTH_NO_ZYGOTE: '1' },
  });
  const r = berth(['commit', '-a', 'me <me@x>', '-m', 'by berth', '-c', 'ENV Z=1', '-c', 'CMD ["cat","/newfile"]', '--pause=false', 'c1', 'x:berth']);
  assert.equal(r.status, 0, String(r.stderr));
  const id = String(r.stdout).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(inspect('x:berth', '{{.Id}}'), id);
  assert.equal(inspect('x:berth', '{{.Author}}|{{.Comment}}|{{json .Config.Cmd}}'), 'me <me@x>|by berth|["cat","/newfile"]');
  assert.ok(inspect('x:berth', '{{json .Config.Env}}').includes('"Z=1"'));
  assert.equal(ok(['run', '--rm', 'x:berth']), 'hi');
  const bad = berth(['commit', 'nosuch']);
  const want = docker(b.sock, ['commit', 'nosuch']);
  assert.deepEqual([bad.status, String(bad.stderr).trim()], [want.status, want.stderr.trim()]);
  ok(['rmi', 'x:berth']);
});

test('refusals in dockerd\'s words, nothing left behind', { skip }, () => {
  const before = stored();
  const images = ok(['images', '-qa']);
  for (const [args, words] of [
    [['nosuch', 'y:1'], 'No such container: nosuch'],
    [['-c', 'RUN true', 'c1', 'y:1'], 'run is not a valid change command'],
    [['-c', 'FOO bar', 'c1', 'y:1'], 'foo is not a valid change command'],
    [['-c', 'ENV', 'c1', 'y:1'], 'ENV requires at least one argument'],
    [['-c', 'EXPOSE abc', 'c1', 'y:1'], 'Invalid containerPort: abc'],
    [['-c', 'STOPSIGNAL SIGQUIT', 'c1', 'y:1'], 'stopsignal is not a valid change command'],
  ] as const) {
    const r = docker(b.sock, ['commit', ...args]);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim(), `Error response from daemon: ${words}`);
  }
  assert.equal(ok(['images', '-qa']), images);
  assert.deepEqual(stored(), before);
});

test('a commit whose layer breaks midway leaves no snapshot, blob, ingest or lease', { skip }, async () => {
  const core = new CoreClient(join(l.execRoot, 'core.sock'), 'berthd');
  try {
    const before = stored();
    const leases = (await core.leases.List({ filters: [] })).leases.length;
    const parent = ok(['inspect', '-f', '{{.Image}}', 'c1']);
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(1 << 20, 0x61); // a megabyte that is no tar header: the unpacker refuses it
    }
    await assert.rejects(core.commitImage(broken(), { parent, name: 'docker.io/library/broken:1', config: Buffer.from('{}'), container: 'c1' }), /cannot commit container c1: .*tar/);
    assert.deepEqual(stored(), before);
    assert.equal((await core.leases.List({ filters: [] })).leases.length, leases);
    assert.notEqual(docker(b.sock, ['image', 'inspect', 'broken:1']).status, 0);
  } finally {
    core.close();
  }
});

test('the committed image survives a restart of berthd and its core, then pushes and pulls back', { skip, timeout: 60_000 }, async () => {
  await stop(b);
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  b = await ready(spawnBerthd(l));
  assert.equal(ok(['run', '--rm', 'x:1', 'cat', '/newfile']), 'hi');
  assert.equal(inspect('x:1', '{{.Comment}}'), 'first');
  const remote = `${reg.host}/committed:1`;
  ok(['tag', 'x:1', remote]);
  assert.match(ok(['push', remote]), /1: digest: sha256:[0-9a-f]{64}/);
  const id = inspect('x:1', '{{.Id}}');
  ok(['rmi', remote, 'x:1']);
  assert.notEqual(docker(b.sock, ['image', 'inspect', id]).status, 0, 'the image is gone');
  ok(['pull', remote]);
  assert.equal(inspect(remote, '{{.Id}}'), id);
  assert.equal(ok(['run', '--rm', remote, 'sh', '-c', 'cat /etc/keep/c; ls /etc/keep']), 'c\nc');
});
