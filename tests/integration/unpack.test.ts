/**
 * applyLayer on real files as root: layers built here with GNU tar (pax,
 * xattrs, devices, hard links) and with tar-stream (for hostile names), in
 * plain, gzip and zstd form; overlay and delete whiteouts; hostile layers
 * refused with nothing written outside the target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, linkSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync, chmodSync, chownSync, lchownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { packed } from '../helpers/tar.js';
import { BerthError } from '../../src/common/errors.js';
import { native } from '../../src/common/native.js';
import { applyLayer } from '../../src/core/unpack/apply.js';
import { MediaType } from '../../src/core/oci/types.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const T = 1_600_000_000;
// security.capability v2: effective, permitted = cap_setuid (7) | cap_net_raw (13); 0x80 is not UTF-8 on its own
const CAP = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

function sh(cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

const sha = (file: string): string => `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;

/** A tree with every kind of entry, and its tar (pax, xattrs, numeric owners). */
function buildSource(dir: string): string {
  const src = join(dir, 'src');
  mkdirSync(join(src, 'bin'), { recursive: true });
  writeFileSync(join(src, 'bin', 'tool'), 'tool body\n');
  chownSync(join(src, 'bin', 'tool'), 1234, 5678);
  chmodSync(join(src, 'bin', 'tool'), 0o4755);
  writeFileSync(join(src, 'bin', 'cap'), 'cap\n');
  native().lsetxattr(join(src, 'bin', 'cap'), 'security.capability', CAP);
  native().lsetxattr(join(src, 'bin', 'cap'), 'user.note', Buffer.from('hello'));
  linkSync(join(src, 'bin', 'tool'), join(src, 'bin', 'tool-link'));
  symlinkSync('tool', join(src, 'bin', 'sym'));
  lchownSync(join(src, 'bin', 'sym'), 42, 43);
  mkdirSync(join(src, 'dev'));
  native().mknod(join(src, 'dev', 'null'), 0o020666, 1, 3);
  native().mknod(join(src, 'dev', 'loop9'), 0o060660, 7, 9);
  native().mknod(join(src, 'dev', 'pipe'), 0o010600, 0, 0);
  for (const p of ['bin/tool', 'bin/cap', 'dev/null', 'bin']) utimesSync(join(src, p), T, T);
  lutimesSync(join(src, 'bin', 'sym'), T + 1, T + 1);
  const tar = join(dir, 'layer.tar');
  sh('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '--numeric-owner', '-cf', tar, '-C', src, '.']);
  return tar;
}

function tarOf(entries: Array<{ name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device'; linkname?: string; body?: string }>): Promise<Buffer> {
  return packed((p) => {
    for (const e of entries) {
      const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.type === 'directory' ? 0o755 : 0o644, mtime: new Date(T * 1000), devmajor: 1, devminor: 3 };
      if (e.body !== undefined || (e.type ?? 'file') === 'file') p.entry(header, e.body ?? ''); else p.entry(header);
    }
  });
}

function checkTree(out: string): void {
  const tool = lstatSync(join(out, 'bin', 'tool'));
  assert.equal(readFileSync(join(out, 'bin', 'tool'), 'utf8'), 'tool body\n');
  assert.equal(tool.mode & 0o7777, 0o4755, 'setuid kept');
  assert.deepEqual([tool.uid, tool.gid], [1234, 5678]);
  assert.equal(Math.floor(tool.mtimeMs / 1000), T);
  assert.equal(lstatSync(join(out, 'bin', 'tool-link')).ino, tool.ino, 'hard link shares the inode');
  assert.equal(readlinkSync(join(out, 'bin', 'sym')), 'tool');
  const sym = lstatSync(join(out, 'bin', 'sym'));
  assert.deepEqual([sym.uid, sym.gid, Math.floor(sym.mtimeMs / 1000)], [42, 43, T + 1]);
  assert.deepEqual(native().lgetxattr(join(out, 'bin', 'cap'), 'security.capability'), CAP);
  assert.equal(native().lgetxattr(join(out, 'bin', 'cap'), 'user.note')?.toString(), 'hello');
  const nul = lstatSync(join(out, 'dev', 'null'));
  assert.ok(nul.isCharacterDevice());
  assert.equal(nul.rdev, 0x103);
  assert.ok(lstatSync(join(out, 'dev', 'loop9')).isBlockDevice());
  assert.ok(lstatSync(join(out, 'dev', 'pipe')).isFIFO());
  assert.equal(Math.floor(lstatSync(join(out, 'bin')).mtimeMs / 1000), T, 'directory time set after its children');
}

test('every entry kind, in plain, gzip and zstd form, with the same diff ID', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-unpack-'));
  try {
    const tar = buildSource(dir);
    sh('sh', ['-c', `gzip -c ${tar} > ${tar}.gz && zstd -q -c ${tar} > ${tar}.zst`]);
    const want = sha(tar);
    const forms: Array<[string, string]> = [
      [tar, MediaType.ociLayer], [`${tar}.gz`, MediaType.ociLayerGzip], [`${tar}.zst`, MediaType.ociLayerZstd],
      // labelled plain but gzip: the magic bytes decide
      [`${tar}.gz`, MediaType.dockerLayer],
    ];
    for (const [i, [file, mediaType]] of forms.entries()) {
      const out = join(dir, `out${i}`);
      mkdirSync(out);
      const r = await applyLayer(createReadStream(file), { mediaType, dir: out, whiteouts: 'overlay' });
      assert.equal(r.diffId, want, `${file} as ${mediaType}`);
      assert.equal(r.size, lstatSync(tar).size);
      checkTree(out);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('whiteouts: overlay form and real deletion', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-unpack-'));
  try {
    const layer = await tarOf([
      { name: 'gone', type: 'file', body: '' },
      { name: '.wh.gone' },
      { name: 'd/', type: 'directory' },
      { name: 'd/.wh..wh..opq' },
      { name: 'd/new', body: 'new' },
    ]);
    const over = join(dir, 'over');
    mkdirSync(over);
    await applyLayer(Readable.from([layer]), { mediaType: MediaType.ociLayer, dir: over, whiteouts: 'overlay' });
    const w = lstatSync(join(over, 'gone'));
    assert.ok(w.isCharacterDevice() && w.rdev === 0, 'a 0/0 character device');
    assert.equal(native().lgetxattr(join(over, 'd'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.deepEqual(readdirSync(join(over, 'd')), ['new']);
    assert.ok(!readdirSync(over).some((n) => n.startsWith('.wh.')));

    const full = join(dir, 'full');
    mkdirSync(join(full, 'd', 'old'), { recursive: true });
    writeFileSync(join(full, 'd', 'old', 'f'), 'lower');
    writeFileSync(join(full, 'kept'), 'lower');
    await applyLayer(Readable.from([layer]), { mediaType: MediaType.ociLayer, dir: full, whiteouts: 'delete' });
    assert.deepEqual(readdirSync(full).sort(), ['d', 'kept']);
    assert.deepEqual(readdirSync(join(full, 'd')), ['new']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile layers are refused, naming the entry, with nothing written outside', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-unpack-'));
  const outside = `/etc/berth-unpack-${process.pid}`;
  const cases: Array<{ entries: Parameters<typeof tarOf>[0]; entry: string; reason: RegExp }> = [
    { entries: [{ name: '../x', body: 'x' }], entry: '../x', reason: /leaves the layer/ },
    { entries: [{ name: `${outside}`, body: 'x' }], entry: outside, reason: /absolute path/ },
    { entries: [{ name: 'a', type: 'symlink', linkname: '/' }, { name: `a${outside}`, body: 'x' }], entry: `a${outside}`, reason: /symbolic link a/ },
    { entries: [{ name: 'p', type: 'link', linkname: '../../etc/passwd' }], entry: 'p', reason: /leaves the layer/ },
    { entries: [{ name: 'null', type: 'character-device' }], entry: 'null', reason: /device nodes are not allowed/ },
  ];
  try {
    for (const [i, c] of cases.entries()) {
      const target = join(dir, `case${i}`, 'fs');
      mkdirSync(target, { recursive: true });
      await assert.rejects(
        applyLayer(Readable.from([await tarOf(c.entries)]), { mediaType: MediaType.ociLayer, dir: target, whiteouts: 'overlay', allowDevices: i !== 4, digest: 'sha256:abc' }),
        (err: unknown) => {
          assert.ok(err instanceof BerthError && err.kind === 'invalid-argument', String(err));
          assert.ok(err.message.startsWith(`layer sha256:abc entry ${c.entry}: `), err.message);
          assert.match(err.message, c.reason);
          return true;
        },
      );
      assert.deepEqual(readdirSync(join(dir, `case${i}`)), ['fs'], 'nothing beside the target');
      assert.ok(!existsSync(outside));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { force: true });
  }
});

test('a corrupt stream is an invalid-argument error', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-unpack-'));
  try {
    const bad = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0]), Buffer.alloc(100, 7)]);
    await assert.rejects(applyLayer(Readable.from([bad]), { mediaType: MediaType.ociLayerGzip, dir, whiteouts: 'overlay' }),
      (err: unknown) => err instanceof BerthError && err.kind === 'invalid-argument' && /cannot apply layer/.test(err.message));
    await assert.rejects(applyLayer(Readable.from([Buffer.alloc(700, 65)]), { mediaType: MediaType.ociLayer, dir, whiteouts: 'overlay' }),
      (err: unknown) => err instanceof BerthError && /checksum/.test(err.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
