import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAll, encodeFrames, FrameDecoder, STDERR, STDOUT } from '../../src/api/stdcopy.js';

test('a frame is an 8-byte header (stream, 0, 0, 0, big-endian length) and the payload', () => {
  const f = encodeFrames(STDOUT, 'hello\n');
  assert.deepEqual([...f.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 6]);
  assert.equal(f.subarray(8).toString(), 'hello\n');
  assert.deepEqual([...encodeFrames(STDERR, Buffer.alloc(300)).subarray(0, 8)], [2, 0, 0, 0, 0, 0, 1, 44]);
  assert.equal(encodeFrames(STDOUT, '').length, 0);
});

test('large payloads are split into frames of at most 32 KiB and decode back whole', () => {
  const payload = Buffer.alloc(100_000, 7);
  const frames = decodeAll(encodeFrames(STDERR, payload));
  assert.deepEqual(frames.map((f) => f.payload.length), [32768, 32768, 32768, 1696]);
  assert.ok(frames.every((f) => f.stream === STDERR));
  assert.deepEqual(Buffer.concat(frames.map((f) => f.payload)), payload);
});

test('the decoder reassembles frames split at any byte', () => {
  const data = Buffer.concat([encodeFrames(STDOUT, 'out'), encodeFrames(STDERR, 'err!'), encodeFrames(STDOUT, 'x')]);
  for (let cut = 0; cut <= data.length; cut++) {
    const d = new FrameDecoder();
    const frames = [...d.push(data.subarray(0, cut)), ...d.push(data.subarray(cut))];
    assert.deepEqual(frames.map((f) => [f.stream, f.payload.toString()]), [[1, 'out'], [2, 'err!'], [1, 'x']], `cut at ${cut}`);
    assert.equal(d.buffered, 0);
  }
});

test('a truncated stream and an unknown stream id are errors', () => {
  assert.throws(() => decodeAll(encodeFrames(STDOUT, 'abc').subarray(0, 10)), /truncated frame/);
  assert.throws(() => decodeAll(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])), /unknown stream id 9/);
});
