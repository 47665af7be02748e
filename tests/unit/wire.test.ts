import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodeMessage, encodePlanMessage, decodeMessage, decodePlan, FrameReader } from '../../src/runtime/plan/wire.js';
import { MessageType } from '../../src/runtime/plan/format.js';
import { renderWireHeader } from '../../src/runtime/plan/header.js';

test('the committed C header matches format.ts', () => {
  const committed = readFileSync(new URL('../../native/include/berth/wire.h', import.meta.url), 'utf8');
  assert.equal(committed, renderWireHeader(), 'run npm run gen:headers');
});

test('messages round-trip through framing', () => {
  const a = encodeMessage(MessageType.REQUEST, [
    { type: 'ARG', value: { value: 'berth-runtime' } },
    { type: 'ARG', value: { value: 'state' } },
    { type: 'CWD', value: { path: '/tmp' } },
    { type: 'STDIN_TTY', value: { isTty: 0 } },
  ]);
  const b = encodeMessage(MessageType.EXIT, [{ type: 'CODE', value: { code: 3 } }]);
  const reader = new FrameReader();
  const both = Buffer.concat([a, b]);
  const bodies = [...reader.push(both.subarray(0, 7)), ...reader.push(both.subarray(7))];
  assert.equal(bodies.length, 2);
  const m = decodeMessage(bodies[0]!);
  assert.equal(m.type, MessageType.REQUEST);
  assert.deepEqual(m.records.filter((r) => r.type === 'ARG').map((r) => (r.value as { value: string }).value), ['berth-runtime', 'state']);
  assert.deepEqual(decodeMessage(bodies[1]!).records, [{ type: 'CODE', value: { code: 3 } }]);
});

test('plans encode every field type', () => {
  const msg = encodePlanMessage(MessageType.EXECUTE, [
    { type: 'KIND', value: { kind: 1 } },
    { type: 'RLIMIT', value: { resource: 7, soft: 1024n, hard: 2n ** 64n - 1n } },
    { type: 'USER', value: { uid: 1000, gid: 1000, groups: [10, 20] } },
    { type: 'ARGS', value: { values: ['sh', '-c', 'échec'] } },
    { type: 'OOM_SCORE_ADJ', value: { value: -500 } },
    { type: 'SECCOMP', value: { flags: 0, filter: Buffer.from([1, 2, 3]), listenerPath: '', listenerMessage: '' } },
  ]);
  const plan = decodePlan(msg.subarray(4));
  assert.deepEqual(plan[1], { type: 'RLIMIT', value: { resource: 7, soft: 1024n, hard: 2n ** 64n - 1n } });
  assert.deepEqual(plan[2], { type: 'USER', value: { uid: 1000, gid: 1000, groups: [10, 20] } });
  assert.deepEqual(plan[3], { type: 'ARGS', value: { values: ['sh', '-c', 'échec'] } });
  assert.equal((plan[4]!.value as { value: number }).value, -500);
  assert.deepEqual([...(plan[5]!.value as { filter: Buffer }).filter], [1, 2, 3]);
});

test('a truncated record is refused', () => {
  const msg = encodeMessage(MessageType.REQUEST, [{ type: 'CWD', value: { path: '/somewhere' } }]);
  const body = Buffer.from(msg.subarray(4));
  body.writeUInt32LE(3, 4); // claim a 3-byte payload: the str length no longer fits
  assert.throws(() => decodeMessage(body), /truncated/);
});

test('FrameReader: any split of a stream gives the same bodies; whole frames are views, cut ones copies', () => {
  const bodies = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello, frames'), Buffer.alloc(300, 7), Buffer.from('z')];
  const stream = Buffer.concat(bodies.map((b) => { const h = Buffer.alloc(4); h.writeUInt32LE(b.length); return Buffer.concat([h, b]); }));
  for (let i = 0; i <= stream.length; i++) {
    for (const j of [i, i + 1, i + 3, i + 5, stream.length]) {
      if (j < i || j > stream.length) continue;
      const reader = new FrameReader();
      const got = [...reader.push(stream.subarray(0, i)), ...reader.push(stream.subarray(i, j)), ...reader.push(stream.subarray(j))];
      assert.deepEqual(got.map((b) => b.toString('hex')), bodies.map((b) => b.toString('hex')), `split at ${i} and ${j}`);
    }
  }
  // one chunk holding whole frames: the bodies share its memory (no copy)
  const whole = Buffer.from(stream);
  const views = new FrameReader().push(whole);
  assert.equal(views[2]!.buffer, whole.buffer);
  // byte by byte
  const reader = new FrameReader();
  const got: Buffer[] = [];
  for (const byte of stream) got.push(...reader.push(Buffer.from([byte])));
  assert.deepEqual(got.map((b) => b.toString('hex')), bodies.map((b) => b.toString('hex')));
});
