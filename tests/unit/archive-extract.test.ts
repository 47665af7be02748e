/**
 * The PUT-archive extractor (src/daemon/archive/extract.ts) on real files:
 * parents the archive does not list are made as dockerd makes them, and an
 * entry that fails ends the extraction with its error at once, however much
 * of the body is still to come (the feeding once waited for a drain that
 * never came, and `docker cp` hung).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { extractInto } from '../../src/daemon/archive/extract.js';

type Entry = { name: string; type?: 'file' | 'directory' | 'link'; body?: Buffer; linkname?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    if (e.type === 'link') p.entry({ name: e.name, type: 'link', linkname: e.linkname });
    else if (e.type === 'directory') p.entry({ name: e.name, type: 'directory', mode: 0o700 });
    else p.entry({ name: e.name, mode: 0o644 }, e.body ?? Buffer.alloc(0));
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The tar in small chunks, as a request body arrives. */
async function* body(tar: Buffer, chunk = 16 * 1024): AsyncGenerator<Buffer> {
  for (let off = 0; off < tar.length; off += chunk) yield tar.subarray(off, off + chunk);
}

const opts = { noOverwriteDirNonDir: true, copyUIDGID: false };

test('parents the archive does not list are made, 0755', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-extract-'));
  try {
    await extractInto(root, '/', body(await tarOf([{ name: 'a/b/c.txt', body: Buffer.from('deep') }])), opts);
    assert.equal(readFileSync(join(root, 'a/b/c.txt'), 'utf8'), 'deep');
    assert.equal(statSync(join(root, 'a')).mode & 0o7777, 0o755);
    assert.equal(statSync(join(root, 'a/b')).mode & 0o7777, 0o755);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an entry that fails ends the extraction with its error, with megabytes of body still to come', { timeout: 20_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-extract-'));
  try {
    writeFileSync(join(root, 'taken'), 'a file');
    // a directory over an existing file is refused (noOverwriteDirNonDir), then 8 MB follow
    const tar = await tarOf([{ name: 'taken/', type: 'directory' }, { name: 'big', body: Buffer.alloc(8 << 20, 1) }]);
    await assert.rejects(extractInto(root, '/', body(tar), opts), /cannot overwrite non-directory "\/taken" with directory/);
    // a hard link to nothing, before more data
    const linked = await tarOf([{ name: 'l', type: 'link', linkname: 'missing' }, { name: 'big2', body: Buffer.alloc(8 << 20, 2) }]);
    await assert.rejects(extractInto(root, '/', body(linked), opts), /cannot extract l into \//);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
