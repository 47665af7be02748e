/** Volumes in pure logic: the local driver's options, the create body, image VOLUME entries, the store. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseVolumeCreate } from '../../src/api/routes/volumes.js';
import { openStateDb } from '../../src/daemon/state/db.js';
import { imageVolumeRequests } from '../../src/daemon/volumes/index.js';
import { checkOptions, splitMountOptions } from '../../src/daemon/volumes/local.js';
import { VolumeStore } from '../../src/daemon/volumes/store.js';

test('local driver options: type/device/o/size only, type and device together', () => {
  checkOptions('v', {});
  checkOptions('v', { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
  assert.throws(() => checkOptions('v', { foo: '1' }), /create v: invalid option key: "foo"/);
  assert.throws(() => checkOptions('v', { type: 'tmpfs' }), /missing required option: "device"/);
  assert.throws(() => checkOptions('v', { device: '/x' }), /missing required option: "type"/);
});

test('mount options: flags apart from the filesystem\'s data', () => {
  assert.deepEqual(splitMountOptions('size=1m,uid=1000'), { flags: 0, data: 'size=1m,uid=1000' });
  assert.deepEqual(splitMountOptions('bind,ro'), { flags: 4096 | 1, data: '' });
  assert.deepEqual(splitMountOptions('rw, nosuid ,nodev,mode=0700'), { flags: 2 | 4, data: 'mode=0700' });
});

test('create body: strings and string maps; unknown fields tolerated', () => {
  assert.deepEqual(parseVolumeCreate(undefined), { Name: undefined, Driver: undefined, DriverOpts: undefined, Labels: undefined });
  assert.deepEqual(parseVolumeCreate({ Name: 'v', Labels: { a: 'b' }, ClusterVolumeSpec: {} }), { Name: 'v', Driver: undefined, DriverOpts: undefined, Labels: { a: 'b' } });
  assert.throws(() => parseVolumeCreate({ Name: 1 }), /Name must be a string/);
  assert.throws(() => parseVolumeCreate({ Labels: { a: 1 } }), /Labels must be an object of strings/);
});

test('image VOLUME entries become anonymous volumes unless a mount covers them', () => {
  assert.deepEqual(imageVolumeRequests({ '/data': {}, '/var/lib/x/': {} }, ['/data/']), [{ name: '', target: '/var/lib/x' }]);
  assert.deepEqual(imageVolumeRequests(null, []), []);
});

test('store: records, references, cascade on delete', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-volstore-'));
  const db = openStateDb(join(dir, 'state.db'));
  try {
    const s = new VolumeStore(db);
    s.create({ name: 'a', driver: 'local', labels: { k: 'v' }, options: {}, anonymous: false, createdAt: '2024-01-01T00:00:00Z' });
    assert.throws(() => s.create({ name: 'a', driver: 'local', labels: {}, options: {}, anonymous: false, createdAt: '' }), /volume a already exists/);
    assert.deepEqual(s.get('a').labels, { k: 'v' });
    assert.throws(() => s.get('b'), /get b: no such volume/);
    s.addRef('a', 'c1');
    s.addRef('a', 'c1');
    s.addRef('a', 'c2');
    assert.deepEqual(s.refs('a'), ['c1', 'c2']);
    assert.deepEqual(s.dropRefs('c1'), ['a']);
    assert.deepEqual([...s.allRefs()], [['a', ['c2']]]);
    s.delete('a');
    assert.deepEqual(s.list(), []);
    assert.deepEqual([...s.allRefs()], []);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
