/**
 * The per-chain memory of what a create read in an image's root filesystem:
 * known only when WorkingDir is known to be in the image, per snapshotter
 * and chain, bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageFilesCache } from '../../src/daemon/containers/image-files.js';

const files = { passwd: 'root:x:0:0:root:/root:/bin/sh\n', group: 'root:x:0:\n' };

test('unknown chains and layerless images are never known', () => {
  const c = new ImageFilesCache();
  assert.equal(c.lookup('overlayfs', 'sha256:a', undefined), undefined);
  c.remember('overlayfs', '', files);
  assert.equal(c.lookup('overlayfs', '', undefined), undefined);
});

test('a chain is known per snapshotter, with its files', () => {
  const c = new ImageFilesCache();
  c.remember('overlayfs', 'sha256:a', files);
  assert.deepEqual({ ...c.lookup('overlayfs', 'sha256:a', undefined)!, dirs: undefined }, { ...files, dirs: undefined });
  assert.equal(c.lookup('native', 'sha256:a', undefined), undefined);
  assert.equal(c.lookup('overlayfs', 'sha256:b', undefined), undefined);
});

test('a WorkingDir must be known to be in the image (a created one is not)', () => {
  const c = new ImageFilesCache();
  c.remember('overlayfs', 'sha256:a', files, { path: '/srv/app', exists: true });
  c.remember('overlayfs', 'sha256:a', files, { path: 'work', exists: false });
  assert.ok(c.lookup('overlayfs', 'sha256:a', '/srv/app'));
  assert.ok(c.lookup('overlayfs', 'sha256:a', 'srv//app/'.replace(/\/$/, '')), 'normalized');
  assert.equal(c.lookup('overlayfs', 'sha256:a', '/work'), undefined);
  assert.equal(c.lookup('overlayfs', 'sha256:a', '/other'), undefined);
  assert.ok(c.lookup('overlayfs', 'sha256:a', ''), 'no WorkingDir needs no directory');
});

test('memory is bounded: the oldest chain goes first', () => {
  const c = new ImageFilesCache();
  for (let i = 0; i < 200; i++) c.remember('overlayfs', `sha256:${i}`, files);
  assert.equal(c.lookup('overlayfs', 'sha256:0', undefined), undefined);
  assert.ok(c.lookup('overlayfs', 'sha256:199', undefined));
});
