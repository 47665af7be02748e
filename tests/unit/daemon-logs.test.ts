import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseEntry, timeNs } from '../../src/daemon/logs/entry.js';
import { readLog } from '../../src/daemon/logs/reader.js';

const line = (log: string, stream: string, time: string): string => `${JSON.stringify({ log, stream, time })}\n`;
const T = (s: number): string => `2026-11-29T14:00:${String(s).padStart(2, '0')}.000000001Z`;

test('entries decode by byte scan, escapes and other field orders included', () => {
  const e = parseEntry(Buffer.from(line('plain "q" \\ tab\t é\n', 'stderr', T(1)).trimEnd()))!;
  assert.equal(e.stream, 'stderr');
  assert.equal(e.data.toString(), 'plain "q" \\ tab\t é\n');
  assert.equal(e.time, T(1));
  assert.equal(parseEntry(Buffer.from('{"log":"x\\n","stream":"stdout","time":"' + T(2) + '"}'))!.data.toString(), 'x\n');
  assert.equal(parseEntry(Buffer.from(`{"stream":"stderr","log":"y","time":"${T(3)}"}`))!.stream, 'stderr');
  assert.equal(parseEntry(Buffer.from('{"log":"cut')), undefined);
  assert.equal(timeNs('2026-11-29T14:00:01.5Z') - timeNs('2026-11-29T14:00:01Z'), 500_000_000n);
});

async function collect(path: string, q: Parameters<typeof readLog>[1]): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of readLog(path, q, new AbortController().signal)) for (const e of batch) out.push(e.data.toString().trimEnd());
  return out;
}

test('tail reaches back across rotated files; since/until and stream filters apply', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'daemon-logs-'));
  try {
    const p = join(dir, 'c-json.log');
    writeFileSync(`${p}.2`, line('a0\n', 'stdout', T(0)) + line('a1\n', 'stderr', T(1)));
    writeFileSync(`${p}.1`, line('b2\n', 'stdout', T(2)));
    writeFileSync(p, line('c3\n', 'stdout', T(3)) + line('c4\n', 'stderr', T(4)) + '{"log":"partial');
    const all = { stdout: true, stderr: true, follow: false };
    assert.deepEqual(await collect(p, all), ['a0', 'a1', 'b2', 'c3', 'c4']);
    assert.deepEqual(await collect(p, { ...all, tail: 2 }), ['c3', 'c4']);
    assert.deepEqual(await collect(p, { ...all, tail: 4 }), ['a1', 'b2', 'c3', 'c4']);
    assert.deepEqual(await collect(p, { ...all, tail: 0 }), []);
    assert.deepEqual(await collect(p, { ...all, stderr: false }), ['a0', 'b2', 'c3']);
    assert.deepEqual(await collect(p, { ...all, sinceNs: timeNs(T(2)), untilNs: timeNs(T(4)) }), ['b2', 'c3', 'c4']); // until is inclusive, as in dockerd
    assert.deepEqual(await collect(p, { ...all, sinceNs: timeNs(T(2)), untilNs: timeNs(T(4)) - 1n }), ['b2', 'c3']);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a 20 MB log reads in large blocks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'daemon-logs-'));
  try {
    const p = join(dir, 'big-json.log');
    const one = line('x'.repeat(100) + '\n', 'stdout', T(5));
    writeFileSync(p, one.repeat(Math.ceil(20e6 / one.length)));
    const t0 = Date.now();
    let n = 0;
    let batches = 0;
    for await (const b of readLog(p, { stdout: true, stderr: true, follow: false }, new AbortController().signal)) { n += b.length; batches++; }
    assert.equal(n, Math.ceil(20e6 / one.length));
    assert.ok(batches <= 25, `${batches} batches`);
    assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
