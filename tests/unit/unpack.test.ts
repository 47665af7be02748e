/**
 * The pure parts of layer unpacking: the tar reader (ustar, PAX with binary
 * values, GNU long names, truncation), compression detection, entry path
 * checks, and overlay's option shortening.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { packed } from '../helpers/tar.js';
import { compressionOf, decompress } from '../../src/core/unpack/decompress.js';
import { EntryRefused, components } from '../../src/core/unpack/paths.js';
import { parsePax, readTar, type TarEntry } from '../../src/core/unpack/tar.js';
import { overlayData } from '../../src/core/snapshots/mount.js';

async function entries(bytes: Buffer, chunk = 7): Promise<Array<Omit<TarEntry, 'body'> & { content: string }>> {
  const chunks = async function* (): AsyncGenerator<Buffer> { for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk); };
  const out: Array<Omit<TarEntry, 'body'> & { content: string }> = [];
  for await (const e of readTar(chunks())) {
    const parts: Buffer[] = [];
    for await (const b of e.body) parts.push(b);
    const { body: _body, ...rest } = e;
    out.push({ ...rest, content: Buffer.concat(parts).toString() });
  }
  return out;
}

test('tar reader: every header field, long names, bodies split across small chunks', async () => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
  const tar = await packed((p) => {
    p.entry({ name: 'a.txt', mode: 0o4755, uid: 1000, gid: 2000, mtime: new Date(1_600_000_000_000) }, 'hello world');
    p.entry({ name: long }, 'long');
    p.entry({ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 });
    p.entry({ name: 'l', type: 'symlink', linkname: 'a.txt' });
    p.entry({ name: 'h', type: 'link', linkname: 'a.txt' });
  });
  const got = await entries(tar);
  assert.deepEqual(got.map((e) => [e.name, e.type, e.content]), [
    ['a.txt', 'file', 'hello world'], [long, 'file', 'long'], ['dev/null', 'char', ''], ['l', 'symlink', ''], ['h', 'link', ''],
  ]);
  assert.deepEqual([got[0]!.mode, got[0]!.uid, got[0]!.gid, got[0]!.mtime], [0o4755, 1000, 2000, 1_600_000_000]);
  assert.deepEqual([got[2]!.devmajor, got[2]!.devminor], [1, 3]);
  assert.equal(got[3]!.linkname, 'a.txt');
});

test('tar reader: a body the consumer skips is passed over', async () => {
  const tar = await packed((p) => { p.entry({ name: 'big' }, Buffer.alloc(5000, 1)); p.entry({ name: 'next' }, 'n'); });
  const names: string[] = [];
  for await (const e of readTar(Readable.from([tar]))) names.push(e.name);
  assert.deepEqual(names, ['big', 'next']);
});

test('PAX values are bytes: a binary xattr survives', () => {
  const value = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0xff, 0x20]);
  const key = Buffer.from(' SCHILY.xattr.security.capability=');
  const len = key.length + value.length + 1;
  const rec = Buffer.concat([Buffer.from(String(len + String(len).length)), key, value, Buffer.from('\n')]);
  const pax = parsePax(rec);
  assert.deepEqual(pax.get('SCHILY.xattr.security.capability'), value);
});

test('tar reader: truncated data and bad checksums are errors', async () => {
  const tar = await packed((p) => p.entry({ name: 'f' }, Buffer.alloc(2000, 1)));
  await assert.rejects(entries(tar.subarray(0, 1024)), /unexpected end of data/);
  const bad = Buffer.from(tar);
  bad[0] = 0x41;
  await assert.rejects(entries(bad), /checksum/);
});

test('compression: magic bytes first, media type for short streams', async () => {
  assert.equal(compressionOf('application/vnd.oci.image.layer.v1.tar', Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  assert.equal(compressionOf('application/vnd.oci.image.layer.v1.tar+gzip', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  assert.equal(compressionOf('application/vnd.oci.image.layer.v1.tar+gzip', Buffer.from('ustar')), 'none');
  assert.equal(compressionOf('application/vnd.oci.image.layer.v1.tar+zstd', Buffer.alloc(0)), 'zstd');
  const parts: Buffer[] = [];
  for await (const b of decompress(Readable.from([gzipSync(Buffer.from('abc'))]), 'application/vnd.oci.image.layer.v1.tar')) parts.push(b);
  assert.equal(Buffer.concat(parts).toString(), 'abc');
});

test('entry paths: components, and refusals', () => {
  assert.deepEqual(components('./a//b/./c/'), ['a', 'b', 'c']);
  assert.deepEqual(components('./'), []);
  assert.throws(() => components('/etc/passwd'), (e: unknown) => e instanceof EntryRefused && /absolute/.test(e.message));
  assert.throws(() => components('a/../../x'), (e: unknown) => e instanceof EntryRefused && /leaves the layer/.test(e.message));
});

test('overlay options: short ones as given; long ones relative to the layers common directory', () => {
  assert.deepEqual(overlayData(['lowerdir=/a/1/fs:/a/2/fs', 'upperdir=/a/3/fs', 'workdir=/a/3/work']), { data: 'lowerdir=/a/1/fs:/a/2/fs,upperdir=/a/3/fs,workdir=/a/3/work' });
  const base = `/var/lib/berth/core/${'x'.repeat(40)}/snapshots/overlayfs`;
  const lower = Array.from({ length: 100 }, (_, i) => `${base}/${i}/fs`).join(':');
  const r = overlayData([`lowerdir=${lower}`, `upperdir=${base}/100/fs`, `workdir=${base}/100/work`, 'index=off']);
  assert.equal(r.cwd, base);
  assert.ok(r.data.startsWith('lowerdir=0/fs:1/fs:'));
  assert.ok(r.data.endsWith(',upperdir=100/fs,workdir=100/work,index=off'));
});
