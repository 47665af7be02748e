/** The seam between a replayed json-file log and live attach output (src/core/tasks/logreplay.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonLog, replayUntilLive, seamOf, type LogChunk } from '../../src/core/tasks/logreplay.js';

const b = (s: string): Buffer => Buffer.from(s);
const text = (cs: LogChunk[], stream = 'stdout'): string => cs.filter((c) => c.stream === stream).map((c) => c.data.toString()).join('');

test('the seam: a half-written line is split, a logged live line is not repeated', () => {
  // "line 7 " was in the shim's buffer at the attach; "end\n" came live and the finished line was logged
  assert.equal(seamOf(b('line 6 end\nline 7 end\n'), b('end\n')), 'line 6 end\nline 7 '.length);
  // nothing live yet: the whole log
  assert.equal(seamOf(b('a\nb\n'), b('')), 4);
  // live lines logged, and more logged that had not arrived yet
  assert.equal(seamOf(b('n1\nn2\nn3\nn4\n'), b('n2\nn')), 3);
  // a live line the log does not hold (not matched): the whole log
  assert.equal(seamOf(b('a\n'), b('zzz\n')), 2);
});

test('replayUntilLive cuts each stream at its own seam and keeps the log order', () => {
  const log = parseJsonLog([
    '{"log":"o1\\n","stream":"stdout","time":"t"}', '{"log":"e1\\n","stream":"stderr","time":"t"}',
    '{"log":"o2 half end\\n","stream":"stdout","time":"t"}', '{"log":"partial', // being written
  ].join('\n'));
  assert.equal(log.length, 3);
  const out = replayUntilLive(log, [{ stream: 'stdout', data: b('end\n') }]);
  assert.equal(text(out), 'o1\no2 half ');
  assert.equal(text(out, 'stderr'), 'e1\n');
  assert.deepEqual(out.map((c) => c.stream), ['stdout', 'stderr', 'stdout']);
});
