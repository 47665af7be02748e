import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BEGIN, END, median, medianRatio, quantile, rotation, renderBlock, renderTable, replaceBlock, fmtNum, type Row, type Meta } from '../../bench/lib/table.js';
import { sandboxFigure, vmFigures } from '../../bench/lib/parse.js';

test('median of odd and even counts, ignoring missing figures', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([5, NaN, 1]), 3);
  assert.ok(Number.isNaN(median([])));
});

test('quantile interpolates between samples', () => {
  assert.equal(quantile([10, 20, 30, 40, 50], 0.5), 30);
  assert.equal(quantile([10, 20], 0.25), 12.5);
  assert.equal(quantile([7], 0.9), 7);
});

test('medianRatio is the median of per-round ratios, not the ratio of medians', () => {
  // round loads differ: per-round ratios are 0.5, 0.5, 2 → 0.5; medians would give 4/4 = 1
  const berth = [1, 4, 20];
  const docker = [2, 8, 10];
  assert.equal(medianRatio(berth, docker), 0.5);
  assert.equal(median(berth) / median(docker), 0.5);
  assert.equal(medianRatio([1, 5], [2, 0]), 0.5, 'a zero reference round is skipped');
  assert.ok(Number.isNaN(medianRatio([], [1])));
});

test('rotation puts every engine first once over as many rounds', () => {
  const firsts = [0, 1, 2].map((r) => rotation(['a', 'b', 'c'], r)[0]);
  assert.deepEqual(firsts, ['a', 'b', 'c']);
  assert.deepEqual(rotation(['a', 'b', 'c'], 4), ['b', 'c', 'a']);
});

test('numbers are printed with digits fitting their size', () => {
  assert.equal(fmtNum(1234.4), '1 234');
  assert.equal(fmtNum(12.345), '12.3');
  assert.equal(fmtNum(0.1234), '0.123');
  assert.equal(fmtNum(NaN), 'n/a');
});

const rows: Row[] = [
  { work: 'start', unit: 'ms', berth: { value: 100 }, docker: { value: 200 }, podman: { value: 400 }, ratioDocker: 0.45, how: 'rounds' },
  { work: 'throughput', unit: 'containers/s', higherIsBetter: true, berth: { value: 4 }, docker: { value: 2 }, podman: { value: NaN, note: 'n/a (x)' }, how: 'h' },
  { work: 'vm', unit: 'ms', berth: { value: 900 }, docker: { value: NaN, note: 'n/a (runc)' }, podman: { value: NaN, note: 'n/a (runc)' }, how: 'Kata ≈ 700 ms' },
];

test('the table has one row per work; ratios given are kept, others computed so that < 1 favours Berth', () => {
  const lines = renderTable(rows).split('\n');
  assert.equal(lines.length, 2 + rows.length);
  assert.match(lines[0]!, /\| Berth \| Docker \| Podman \| Berth\/Docker \| Berth\/Podman \|/);
  assert.match(lines[2]!, /\| start \| ms \| 100 \| 200 \| 400 \| \*\*0.45\*\* \| \*\*0.25\*\* \|/);
  assert.match(lines[3]!, /\| 4.00 \| 2.00 \| n\/a \(x\) \| \*\*0.50\*\* \| n\/a \|/);
  assert.match(lines[4]!, /\| 900 \| n\/a \(runc\) \| n\/a \(runc\) \| n\/a \| n\/a \| Kata/);
});

const meta: Meta = { date: '2026-11-29 19:00 UTC', mode: 'quick', machine: '2 × cpu', versions: 'v', loads: ['setup 1 1 1'], durationS: 61, plots: ['plots/a.png'], notes: ['a note'] };

test('replaceBlock puts the block after the title the first time, then replaces only it', () => {
  const original = '# Benchmark results\n\nintro\n\n## runtime\nfigures\n';
  const first = replaceBlock(original, renderBlock(rows, meta));
  assert.ok(first.startsWith(`# Benchmark results\n\n${BEGIN}\n`));
  assert.ok(first.endsWith(`${END}\n\nintro\n\n## runtime\nfigures\n`));
  assert.match(first, /!\[plots\/a.png\]\(plots\/a.png\)/);
  assert.match(first, /load .*setup 1 1 1/i);
  const second = replaceBlock(first, renderBlock(rows.slice(0, 1), { ...meta, mode: 'full' }));
  assert.equal(second.split(BEGIN).length, 2, 'one block only');
  assert.ok(!second.includes('--quick'));
  assert.ok(second.endsWith(`${END}\n\nintro\n\n## runtime\nfigures\n`), 'the per-issue sections are untouched');
  assert.throws(() => replaceBlock(`# t\n${BEGIN}\n`, 'x'), /only one of the bench\/all markers/);
});

test('the child benches are parsed from their printed tables, and a missing row fails', () => {
  const sandbox = [
    'rounds: 2 (medians)',
    '                                               berth-runtime berth-sandbox',
    'uname (emulated), per call                          0.41      6.20 µs     15.12×',
  ].join('\n');
  assert.deepEqual(sandboxFigure(sandbox, 'uname (emulated), per call'), [0.41, 6.2]);
  assert.throws(() => sandboxFigure(sandbox, 'open+close (passed through), per pair'), /no 'open\+close/);
  const vm = 'berth-vm (TCG, microvm, 256 MiB guest, 1 vCPU), medians of 1 rounds\n| boot-to-running (run → first output) | 2345 ms | 40 ms | ~700 ms |\n';
  assert.deepEqual(vmFigures(vm), { vm: 2345, runc: 40, accel: 'TCG' });
  assert.throws(() => vmFigures('nothing'), /no boot-to-running/);
});
