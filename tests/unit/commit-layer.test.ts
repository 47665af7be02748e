/**
 * The pieces of docker commit that are pure logic: the tar writer (read
 * back by the core's tar reader and by GNU tar: long and non-ASCII names,
 * long link targets, binary xattrs, sizes), docker diff's order, and
 * dockerd's merge of a commit's config with the container's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar } from '../../src/core/unpack/tar.js';
import { commitImageConfig, mergeDefaults } from '../../src/core/images/commit-config.js';
import { dockerdOrder } from '../../src/daemon/archive/changes.js';
import { encodeHeader, END, padding, type TarHeader } from '../../src/daemon/archive/tar-writer.js';

const longName = `${'d'.repeat(120)}/f-é`;
const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0x80, 0x00, 0x00]);
const entries: (TarHeader & { body?: Buffer })[] = [
  { name: 'dir/', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000 },
  { name: 'dir/file', type: 'file', mode: 0o4755, uid: 1000, gid: 3_000_000, size: 5, mtime: 1_700_000_001, xattrs: new Map([['security.capability', cap]]), body: Buffer.from('hello') },
  { name: longName, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1 },
  { name: 'dir/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 1, linkname: `/${'t'.repeat(150)}` },
  { name: 'dir/hard', type: 'link', mode: 0o4755, uid: 1000, gid: 0, size: 0, mtime: 1, linkname: 'dir/file' },
  { name: 'dev/null', type: 'char', mode: 0o666, uid: 0, gid: 0, size: 0, mtime: 1, devmajor: 1, devminor: 3 },
];

function archive(): Buffer {
  return Buffer.concat([...entries.flatMap((e) => [encodeHeader(e), ...(e.body ? [e.body, padding(e.body.length)] : [])]), END]);
}

test('tar writer: the core\'s reader reads back names, links, owners, modes and binary xattrs', async () => {
  const got: { name: string; type: string; mode: number; uid: number; gid: number; linkname: string; body: string; xattrs: Map<string, Buffer>; dev: string }[] = [];
  async function* once(): AsyncGenerator<Buffer> { yield archive(); }
  for await (const e of readTar(once())) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c);
    got.push({ name: e.name, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, linkname: e.linkname, body: Buffer.concat(chunks).toString(), xattrs: e.xattrs, dev: `${e.devmajor}:${e.devminor}` });
  }
  assert.deepEqual(got.map((g) => [g.name.replace(/\/$/, ''), g.type]), entries.map((e) => [e.name.replace(/\/$/, ''), e.type === 'link' ? 'link' : e.type]));
  assert.equal(got[1]!.body, 'hello');
  assert.equal(got[1]!.mode & 0o7777, 0o4755);
  assert.equal(got[1]!.gid, 3_000_000, 'a gid too big for ustar goes in PAX');
  assert.deepEqual(got[1]!.xattrs.get('security.capability'), cap);
  assert.equal(got[3]!.linkname, `/${'t'.repeat(150)}`);
  assert.equal(got[4]!.linkname, 'dir/file');
  assert.equal(got[5]!.dev, '1:3');
});

test('tar writer: GNU tar lists the archive as written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-commit-layer-'));
  try {
    writeFileSync(join(dir, 'a.tar'), archive());
    const r = spawnSync('tar', ['--numeric-owner', '-tvf', join(dir, 'a.tar')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, entries.length);
    assert.match(lines[1]!, /^-rwsr-xr-x 1000\/3000000\s+5 .* dir\/file$/);
    assert.ok(lines[2]!.endsWith(longName));
    assert.match(lines[4]!, /dir\/hard link to dir\/file$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docker diff order: depth first, a directory\'s deletions after what it holds now', () => {
  const list = [['/a', 1], ['/a-b', 1], ['/a-b/c', 1], ['/a.b', 1], ['/a/b', 1], ['/bin', 0], ['/bin/ls', 2], ['/bin/yy', 1], ['/root', 2], ['/tmp', 0], ['/tmp/t', 1]]
    .map(([Path, Kind]) => ({ Path: Path as string, Kind: Kind as number }));
  assert.deepEqual(dockerdOrder(list).map((c) => c.Path), ['/a', '/a/b', '/a-b', '/a-b/c', '/a.b', '/bin', '/bin/yy', '/bin/ls', '/tmp', '/tmp/t', '/root']);
});

test('commit config: dockerd\'s merge with the container\'s config, and the history entry', () => {
  const container = { Cmd: ['sh'], Env: ['A=1', 'B=2'], Labels: { x: '1', y: '2' }, WorkingDir: '/w', ExposedPorts: { '80/tcp': {} }, Volumes: { '/v': {} }, User: 'u', StopSignal: 'SIGINT' };
  const m = mergeDefaults({ Env: ['B=3'], Labels: { y: '9' }, ExposedPorts: { '81/tcp': {} }, Entrypoint: ['/e'] }, container);
  assert.deepEqual(m.Env, ['B=3', 'A=1']);
  assert.deepEqual(m.Labels, { x: '1', y: '9' });
  assert.deepEqual(m.ExposedPorts, { '80/tcp': {}, '81/tcp': {} });
  assert.equal(m.Cmd, undefined, 'an entrypoint given keeps the container\'s command out');
  assert.deepEqual([m.WorkingDir, m.User, m.StopSignal, m.Volumes], ['/w', 'u', 'SIGINT', { '/v': {} }]);
  const parent = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' as const, diff_ids: ['sha256:a'] }, history: [{ created: 't0' }], author: 'old' };
  const c = commitImageConfig(parent, m, 'sha256:b', { created: 't1', author: '', comment: 'c', createdBy: 'sh', container: 'id', containerConfig: container });
  assert.deepEqual(c.rootfs.diff_ids, ['sha256:a', 'sha256:b']);
  assert.deepEqual(c.history?.at(-1), { created: 't1', created_by: 'sh', comment: 'c' });
  assert.equal(c.author, undefined);
  const empty = commitImageConfig(parent, m, undefined, { created: 't1', author: 'me', comment: '', createdBy: 'true', container: 'id', containerConfig: undefined });
  assert.deepEqual(empty.rootfs.diff_ids, ['sha256:a']);
  assert.deepEqual(empty.history?.at(-1), { created: 't1', author: 'me', created_by: 'true', empty_layer: true });
});
