// The berth CLI's launcher (scripts/berth-launcher.cjs): it runs the bundle
// beside it through V8's code cache, writes the cache when there is none,
// never runs stale code from a cache made for another bundle (even one of
// the same length, which V8 alone would accept), and shrugs off a corrupt
// cache. A tiny stand-in bundle in a temp dir plays dist/berth.cjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/runtime.js';

const LAUNCHER = join(REPO, 'scripts', 'berth-launcher.cjs');

/** A bundle whose answer lives in a lazily compiled function (what the cache keeps). */
const bundle = (word: string): string =>
  `'use strict';\nfunction answer() { return '${word}'; }\nprocess.stdout.write(answer() + ' ' + process.argv.slice(2).join(' ') + ' ' + typeof require + ' ' + __dirname + '\\n');\n`;

function run(dir: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [join(dir, 'berth-launcher.cjs'), ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function setup(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-launcher-'));
  copyFileSync(LAUNCHER, join(dir, 'berth-launcher.cjs'));
  return dir;
}

test('launcher: runs the bundle as a CommonJS module and writes its code cache', () => {
  const dir = setup();
  try {
    writeFileSync(join(dir, 'berth.cjs'), bundle('alpha'));
    assert.equal(run(dir, 'ps', '-a'), `alpha ps -a function ${dir}\n`);
    const cache = join(dir, 'berth.cjs.codecache');
    assert.ok(existsSync(cache), 'no cache after the first run');
    const first = readFileSync(cache);
    assert.equal(run(dir, 'ps'), `alpha ps function ${dir}\n`);
    assert.deepEqual(readFileSync(cache), first, 'an accepted cache is not rewritten');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('launcher: a rebuilt bundle of the same length is not served from the old cache', () => {
  const dir = setup();
  try {
    writeFileSync(join(dir, 'berth.cjs.tmp'), bundle('alpha'));
    // the build renames a new bundle in: a new inode, as here
    renameSync(join(dir, 'berth.cjs.tmp'), join(dir, 'berth.cjs'));
    assert.equal(run(dir), `alpha  function ${dir}\n`);
    writeFileSync(join(dir, 'berth.cjs.tmp'), bundle('omega'));
    assert.equal(readFileSync(join(dir, 'berth.cjs.tmp')).length, readFileSync(join(dir, 'berth.cjs')).length);
    renameSync(join(dir, 'berth.cjs.tmp'), join(dir, 'berth.cjs'));
    assert.equal(run(dir), `omega  function ${dir}\n`);
    // and the cache now belongs to the new bundle
    assert.equal(run(dir), `omega  function ${dir}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('launcher: a bundle edited in place (same inode, same length) is not served from the old cache', () => {
  const dir = setup();
  try {
    writeFileSync(join(dir, 'berth.cjs'), bundle('alpha'));
    assert.equal(run(dir), `alpha  function ${dir}\n`);
    writeFileSync(join(dir, 'berth.cjs'), bundle('omega'));
    assert.equal(run(dir), `omega  function ${dir}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('launcher: a corrupt or foreign cache only costs a compile', () => {
  const dir = setup();
  try {
    writeFileSync(join(dir, 'berth.cjs'), bundle('alpha'));
    run(dir);
    const cache = join(dir, 'berth.cjs.codecache');
    const good = readFileSync(cache);
    const nl = good.indexOf(10);
    // the right key over garbage: V8 rejects the data, the launcher rewrites it
    writeFileSync(cache, Buffer.concat([good.subarray(0, nl + 1), Buffer.alloc(good.length - nl - 1, 0x5a)]));
    assert.equal(run(dir), `alpha  function ${dir}\n`);
    assert.deepEqual(readFileSync(cache).subarray(0, nl + 1), good.subarray(0, nl + 1));
    assert.notEqual(readFileSync(cache)[nl + 1], 0x5a, 'the rejected cache was not rewritten');
    writeFileSync(cache, 'not a cache at all');
    assert.equal(run(dir), `alpha  function ${dir}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
