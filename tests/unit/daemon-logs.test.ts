import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseEntry, timeNs } from '../../src/daemon/logs/entry.js';
import { decodeBlock } from '../../src/daemon/logs/block.js';
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

test('without follow, lines written while the log is read do not join it: --tail N gives N, and a busy log ends', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'daemon-logs-'));
  const p = join(dir, 'c-json.log');
  writeFileSync(p, line('start\n', 'stdout', T(0)));
  // a container writing as fast as it can, as the shim appends whole entries
  const entry = line('busy\n', 'stdout', T(1)).trimEnd();
  const writer = spawn('sh', ['-c', `while :; do printf '%s\\n' '${entry}'; done >> "$0"`, p], { stdio: 'ignore' });
  try {
    while (statSync(p).size < 100_000) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 300; i++) {
      const got = await collect(p, { stdout: true, stderr: true, follow: false, tail: 2 });
      assert.equal(got.length, 2, `round ${i}: ${got.length} lines`);
    }
  } finally {
    writer.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
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

test('blocks decode into merged runs per stream, with times when asked, other shapes and escapes included', () => {
  const lines = [
    line('one\n', 'stdout', T(1)),
    line('two "q" \\ \t é\n', 'stdout', T(2)),
    line('err\n', 'stderr', T(3)),
    `{"stream":"stderr","log":"reordered\\n","time":"${T(4)}"}\n`, // another writer's field order
    line('snow \u2603 \u0001\n', 'stderr', T(5)), // \u escapes: the slow path
    '{"log":"damaged\n', // skipped
    `{"log":"short time\\n","stream":"stdout","time":"2026-11-29T14:00:06.5Z"}\n`,
    line('x'.repeat(300) + '\\\n', 'stdout', T(7)), // a long body: copied by memchr/memcpy
    '{"log":"partial, no newline yet',
  ].join('');
  const src = Buffer.from(lines);
  const all = { stdout: true, stderr: true };
  const merged = decodeBlock(src, src.length, { ...all, merge: true });
  assert.equal(merged.consumed, src.length - '{"log":"partial, no newline yet'.length);
  assert.deepEqual(merged.entries.map((e) => [e.stream, e.time, e.data.toString()]), [
    ['stdout', T(1), 'one\ntwo "q" \\ \t é\n'],
    ['stderr', T(3), 'err\nreordered\nsnow \u2603 \u0001\n'],
    ['stdout', '2026-11-29T14:00:06.5Z', `short time\n${'x'.repeat(300)}\\\n`],
  ]);
  const single = decodeBlock(src, src.length, all);
  assert.deepEqual(single.entries.map((e) => e.data.toString().trimEnd()), ['one', 'two "q" \\ \t é', 'err', 'reordered', 'snow \u2603 \u0001', 'short time', `${'x'.repeat(300)}\\`]);
  const stamped = decodeBlock(src, src.length, { ...all, stderr: false, merge: true, timestamps: true });
  assert.equal(stamped.entries.map((e) => e.data.toString()).join(''),
    `${T(1)} one\n${T(2)} two "q" \\ \t é\n2026-11-29T14:00:06.5Z short time\n${T(7)} ${'x'.repeat(300)}\\\n`);
  const ranged = decodeBlock(src, src.length, { ...all, merge: true, sinceNs: timeNs(T(3)), untilNs: timeNs('2026-11-29T14:00:06.5Z') });
  assert.equal(ranged.entries.map((e) => e.data.toString()).join(''), 'err\nreordered\nsnow \u2603 \u0001\nshort time\n');
  // a block of the same bytes read in two pieces gives the same lines
  const cut = lines.indexOf('{"stream"') + 5;
  const first = decodeBlock(src, cut, all);
  const rest = src.subarray(first.consumed);
  const second = decodeBlock(rest, rest.length, all);
  assert.deepEqual([...first.entries, ...second.entries].map((e) => e.data.toString()), single.entries.map((e) => e.data.toString()));
});

test('a 100 MB log of short lines decodes into few records, fast', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'daemon-logs-'));
  try {
    const p = join(dir, 'short-json.log');
    const one = line('a line of about forty bytes of text ....\n', 'stdout', T(8));
    const text = one.repeat(Math.ceil(100e6 / one.length / 100));
    writeFileSync(p, text.repeat(100)); // ~100 MB of log, ~40 MB of text
    const t0 = Date.now();
    let bytes = 0;
    let records = 0;
    for await (const b of readLog(p, { stdout: true, stderr: true, follow: false, merge: true }, new AbortController().signal)) {
      records += b.length;
      for (const r of b) bytes += r.data.length;
    }
    assert.equal(bytes, 41 * 100 * Math.ceil(100e6 / one.length / 100));
    assert.ok(records <= 200, `${records} records`);
    assert.ok(Date.now() - t0 < 8000, `${Date.now() - t0} ms`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
