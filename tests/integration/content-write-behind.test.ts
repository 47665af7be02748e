/**
 * The content writer's writes go behind (queued to the thread pool, not
 * awaited one by one): on a real full file system (a 1 MiB tmpfs) the
 * failure must still surface — at a later write or at commit, naming ENOSPC —,
 * nothing may be committed, and the ingest must hold a prefix of the blob
 * that a new writer resumes from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContentStore } from '../../src/core/content/store.js';
import { openMetadataStore } from '../../src/core/metadata/store.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('a write that fails behind the writer fails the writer, commits nothing, and leaves a prefix to resume from', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-write-behind-'));
  const root = join(dir, 'root');
  mkdirSync(root);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', root]);
  assert.equal(mounted.status, 0, `mount tmpfs: ${mounted.stderr}`);
  // the metadata lives outside the full file system: only the blob's bytes run out of room
  const meta = openMetadataStore(join(dir, 'meta.db'));
  try {
    const store = openContentStore(meta.db, root);
    const blob = randomBytes(4 << 20);
    const digest = sha(blob);
    const w = await store.writer('default', 'big', { expected: digest, total: blob.length });
    let failure: unknown;
    try {
      for (let off = 0; off < blob.length; off += 256 << 10) await w.write(blob.subarray(off, off + (256 << 10)));
      await w.commit(blob.length, digest);
    } catch (err) {
      failure = err;
    }
    assert.ok(failure instanceof Error, 'a 4 MiB blob cannot fit a 1 MiB file system');
    assert.match(failure.message, /ENOSPC|no space/i);
    assert.equal(store.has('default', digest), false);
    const [ingest] = readdirSync(join(root, 'content', 'ingest'));
    assert.ok(ingest !== undefined, 'the ingest stays for a resume');
    const onDisk = readFileSync(join(root, 'content', 'ingest', ingest, 'data'));
    assert.ok(onDisk.length < blob.length);
    assert.ok(onDisk.equals(blob.subarray(0, onDisk.length)), 'the file holds a prefix of the blob, no hole and no later piece');
    const again = await store.writer('default', 'big', { expected: digest, total: blob.length });
    assert.equal(again.offset, onDisk.length, 'a new writer resumes from the bytes on disk');
    await again.close();
  } finally {
    meta.close();
    spawnSync('umount', [root]);
    rmSync(dir, { recursive: true, force: true });
  }
});
