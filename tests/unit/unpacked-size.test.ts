/**
 * A layer's unpacked size by dockerd's count (src/core/unpack/unpacked-size.ts):
 * file contents once per inode, symbolic links their target's length,
 * nothing for directories, devices, fifos, hard links and whiteouts. The
 * first layer is the one a private dockerd 20.10 (overlay2) showed as
 * 5107 bytes; tests/integration/image-sizes checks real images against it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { packed } from '../helpers/tar.js';
import { measureLayer } from '../../src/core/unpack/unpacked-size.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The layer dockerd measured as 5107 bytes: 100 + 7 ("1234567") + 5000. */
const dockerdLayer = (): Promise<Buffer> => packed((p) => {
  p.entry({ name: './', type: 'directory' });
  p.entry({ name: './cdev', type: 'character-device', devmajor: 1, devminor: 3 });
  p.entry({ name: './f100' }, Buffer.alloc(100, 1));
  p.entry({ name: './fifo', type: 'fifo' });
  p.entry({ name: './hl', type: 'link', linkname: './f100' });
  p.entry({ name: './sl', type: 'symlink', linkname: '1234567' });
  p.entry({ name: './empty' }, Buffer.alloc(0));
  p.entry({ name: './d/', type: 'directory' });
  p.entry({ name: './d/.wh.gone' }, 'abc');
  p.entry({ name: './d/sub/', type: 'directory' });
  p.entry({ name: './d/sub/f5000' }, Buffer.alloc(5000, 2));
});

test('unpacked size: dockerd\'s count of a mixed layer, plain and gzip, with its diff id', async () => {
  const tar = await dockerdLayer();
  const plain = await measureLayer(Readable.from([tar]), '');
  assert.deepEqual(plain, { diffId: sha(tar), unpackedSize: 5107 });
  const gz = await measureLayer(Readable.from([gzipSync(tar)]), 'application/vnd.oci.image.layer.v1.tar+gzip');
  assert.deepEqual(gz, { diffId: sha(tar), unpackedSize: 5107 }, 'the diff id is of the uncompressed bytes');
});

test('unpacked size: a path named twice counts as the last entry left it; a whiteout takes back what the layer wrote', async () => {
  const tar = await packed((p) => {
    p.entry({ name: 'dup' }, Buffer.alloc(300));
    p.entry({ name: 'dup' }, Buffer.alloc(50));
    p.entry({ name: 'gone' }, Buffer.alloc(70));
    p.entry({ name: '.wh.gone' }, Buffer.alloc(0));
    p.entry({ name: 'x' }, Buffer.alloc(9));
    p.entry({ name: 'x', type: 'directory' });
    p.entry({ name: 'long', type: 'symlink', linkname: 'é/é' }); // bytes, not characters: 5
  });
  assert.equal((await measureLayer(Readable.from([tar]), '')).unpackedSize, 55);
});
