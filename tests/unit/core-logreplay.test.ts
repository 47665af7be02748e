/**
 * The replay of an attach with logs up to the shim's seam
 * (src/core/tasks/logreplay.ts): across rotated files found by inode, cut at
 * the offset, then the pending bytes; rotation while reading, and a log
 * rotated past the seam.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJsonLog, readLogUntil, replayBeforeSeam, type LogChunk, type LogPosition } from '../../src/core/tasks/logreplay.js';

const entry = (log: string, stream = 'stdout'): string => `${JSON.stringify({ log, stream, time: '2026-01-01T00:00:00.000000000Z' })}\n`;
const text = (cs: LogChunk[], stream = 'stdout'): string => cs.filter((c) => c.stream === stream).map((c) => c.data.toString()).join('');

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logreplay-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** The position of the file at path now, as the shim would report it. */
function posOf(path: string, generation: number, maxFile: number): LogPosition {
  const st = statSync(path, { bigint: true });
  return { generation, inode: st.ino, offset: Number(st.size), maxFile };
}

/** Renames name → name.1 … as the shim rotates (keeping maxFile files), and starts a new name. */
function rotate(path: string, maxFile: number): void {
  rmSync(`${path}.${maxFile - 1}`, { force: true });
  for (let i = maxFile - 2; i >= 1; i--) { try { renameSync(`${path}.${i}`, `${path}.${i + 1}`); } catch { /* not there yet */ } }
  renameSync(path, `${path}.1`);
  writeFileSync(path, '');
}

const never = (): Promise<number> => Promise.reject(new Error('a log that never rotates needs no generation'));

test('parseJsonLog leaves out a line still being written', () => {
  const log = parseJsonLog(entry('o1\n') + entry('e1\n', 'stderr') + '{"log":"partial');
  assert.deepEqual(log.map((c) => [c.stream, c.data.toString()]), [['stdout', 'o1\n'], ['stderr', 'e1\n']]);
});

test('a log that never rotates is cut at the offset; the pending bytes follow, per stream', () => withDir(async (dir) => {
  const path = join(dir, 'c-json.log');
  writeFileSync(path, entry('a\n') + entry('b\n', 'stderr'));
  const pos = posOf(path, 0, 0);
  appendFileSync(path, entry('half end\n') + entry('after\n')); // logged after the attach
  const out = replayBeforeSeam(await readLogUntil(path, pos, never), { stdout: Buffer.from('half '), stderr: Buffer.alloc(0) });
  assert.equal(text(out), 'a\nhalf ');
  assert.equal(text(out, 'stderr'), 'b\n');
  assert.deepEqual(out.map((c) => c.stream), ['stdout', 'stderr', 'stdout']);
}));

test('rotated files: the older ones whole, the seam file (renamed since) up to the offset, newer files not at all', () => withDir(async (dir) => {
  const path = join(dir, 'c-json.log');
  writeFileSync(path, entry('1\n'));
  rotate(path, 4);
  writeFileSync(path, entry('2\n'));
  const pos = posOf(path, 1, 4);
  appendFileSync(path, entry('3\n'));
  rotate(path, 4);
  writeFileSync(path, entry('4\n'));
  let asked = 0;
  const out = await readLogUntil(path, pos, () => { asked++; return Promise.resolve(2); });
  assert.equal(text(out), '1\n2\n');
  // the log rotated since the attach, maybe during the first pass: a second pass, quiet, counts
  assert.equal(asked, 2);
}));

test('a rotation while the files are read: they are listed again', () => withDir(async (dir) => {
  const path = join(dir, 'c-json.log');
  writeFileSync(path, entry('old\n'));
  rotate(path, 3);
  writeFileSync(path, entry('seam\n'));
  const pos = posOf(path, 1, 3);
  const gens = [2, 2];
  const out = await readLogUntil(path, pos, () => {
    // the first answer says a rotation happened during the pass; the next pass is quiet
    if (gens.length === 2) { rotate(path, 3); writeFileSync(path, entry('new\n')); }
    return Promise.resolve(gens.shift()!);
  });
  assert.equal(gens.length, 0, 'a second pass was made');
  assert.equal(text(out), 'old\nseam\n', 'the seam file found at name.1, the older one at name.2, the new one left out');
}));

test('rotated past the seam, or emptied (max-file 1): nothing from the log', () => withDir(async (dir) => {
  const path = join(dir, 'c-json.log');
  writeFileSync(path, entry('gone\n'));
  const two = posOf(path, 0, 2);
  assert.deepEqual(await readLogUntil(path, two, () => Promise.resolve(2)), [], 'two rotations with two files kept');
  const one = posOf(path, 5, 1);
  truncateSync(path, 0);
  writeFileSync(path, entry('new output, longer than what was there\n'));
  assert.deepEqual(await readLogUntil(path, one, () => Promise.resolve(6)), [], 'emptied: its new lines are not before the seam');
  const kept = posOf(path, 6, 1);
  assert.equal(text(await readLogUntil(path, kept, () => Promise.resolve(6))), 'new output, longer than what was there\n');
}));

test('no log file (inode 0) or a file gone: an empty replay', () => withDir(async (dir) => {
  const path = join(dir, 'c-json.log');
  assert.deepEqual(await readLogUntil(path, { generation: 0, inode: 0n, offset: 0, maxFile: 0 }, never), []);
  assert.deepEqual(await readLogUntil(path, { generation: 0, inode: 12345n, offset: 10, maxFile: 0 }, never), []);
}));
