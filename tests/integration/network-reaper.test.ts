/**
 * The veth reaper (src/daemon/network/reaper.ts) on real links: a deletion
 * runs in the background, holds its address out of the pool until the
 * link is gone, can be awaited by name and all at once, and a link gone
 * already (its namespace ended first) is not an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createLogger, type LogSink } from '../../src/common/log.js';
import { LinkReaper } from '../../src/daemon/network/reaper.js';
import { isRoot } from '../helpers/runtime.js';

const skip = isRoot ? false : 'needs root';
const exists = (name: string): boolean => existsSync(`/sys/class/net/${name}`);

function veth(name: string): void {
  const r = spawnSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('a veth is deleted in the background; its address is held until it is gone', { skip }, async () => {
  const warnings: string[] = [];
  const sink: LogSink = { format: 'json', level: 'warning', write: (line) => { warnings.push(line); } };
  const reaper = new LinkReaper(createLogger([sink]));
  const [a, b] = [`vbrt${process.pid % 10000}a`, `vbrt${process.pid % 10000}b`];
  veth(a);
  veth(b);
  try {
    reaper.remove(a, 'net1', '10.99.0.2');
    reaper.remove(b, 'net2', '10.98.0.2');
    reaper.remove(a, 'net1', '10.99.0.2'); // twice: one deletion
    // until the event loop hears the child end, the deletions are pending: their addresses held
    assert.deepEqual(reaper.addresses('net1'), ['10.99.0.2']);
    assert.deepEqual(reaper.addresses('net2'), ['10.98.0.2']);
    await reaper.settled(a);
    assert.equal(exists(a), false);
    assert.equal(exists(`${a}p`), false, 'the pair went with it');
    assert.deepEqual(reaper.addresses('net1'), [], 'the address is free once the link is gone');
    await reaper.idle();
    assert.equal(exists(b), false);
    assert.deepEqual(reaper.addresses('net2'), []);
    // a link that is not there (gone with its namespace) is nothing to do, and no warning
    reaper.remove(a, 'net1', '10.99.0.2');
    assert.deepEqual(reaper.addresses('net1'), []);
    await reaper.idle();
    assert.deepEqual(warnings, []);
  } finally {
    for (const n of [a, b]) if (exists(n)) spawnSync('ip', ['link', 'del', n]);
  }
});

test('a deletion that fails is logged and still settles', { skip }, async () => {
  const warnings: string[] = [];
  const sink: LogSink = { format: 'json', level: 'warning', write: (line) => { warnings.push(line); } };
  const reaper = new LinkReaper(createLogger([sink]));
  // lo exists and cannot be deleted: ip fails, the link stays
  reaper.remove('lo', 'net1', '10.97.0.2');
  assert.deepEqual(reaper.addresses('net1'), ['10.97.0.2']);
  await reaper.settled('lo');
  assert.deepEqual(reaper.addresses('net1'), []);
  assert.equal(warnings.length, 1, 'the failure is logged');
  assert.equal(exists('lo'), true);
});
