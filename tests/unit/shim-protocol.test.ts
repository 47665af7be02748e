import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderShimHeader } from '../../src/shim/header.js';
import { encodeShimMessage, decodeShimMessage, findRecord } from '../../src/shim/codec.js';
import { ShimRequest, ShimReply, ShimAttachFrame, ShimRecords } from '../../src/shim/protocol.js';

test('the committed shim C header matches protocol.ts', () => {
  const committed = readFileSync(new URL('../../native/include/berth/shim.h', import.meta.url), 'utf8');
  assert.equal(committed, renderShimHeader(), 'run npm run gen:headers');
});

test('requests and replies do not share a type number, records do not share a tag', () => {
  const types = [...Object.values(ShimRequest), ...Object.values(ShimReply), ...Object.values(ShimAttachFrame)];
  assert.equal(new Set(types).size, types.length);
  const tags = Object.values(ShimRecords).map((r) => r.tag);
  assert.equal(new Set(tags).size, tags.length);
});

test('shim messages round-trip', () => {
  const msg = encodeShimMessage(ShimReply.STATE, [
    { type: 'PID', value: { pid: 4242 } },
    { type: 'STATUS', value: { status: 'stopped' } },
    { type: 'EXIT_STATUS', value: { code: 137 } },
    { type: 'EXIT_TIME', value: { ns: 1_700_000_000_123_456_789n } },
  ]);
  assert.equal(msg.readUInt32LE(0), msg.length - 4);
  const m = decodeShimMessage(msg.subarray(4));
  assert.equal(m.type, ShimReply.STATE);
  assert.deepEqual(findRecord(m, 'PID'), { pid: 4242 });
  assert.deepEqual(findRecord(m, 'STATUS'), { status: 'stopped' });
  assert.deepEqual(findRecord(m, 'EXIT_TIME'), { ns: 1_700_000_000_123_456_789n });
  assert.equal(findRecord(m, 'MESSAGE'), undefined);
});

test('a truncated shim record is refused', () => {
  const msg = encodeShimMessage(ShimRequest.KILL, [{ type: 'SIGNAL', value: { signal: 9 } }]);
  const body = Buffer.from(msg.subarray(4));
  body.writeUInt32LE(2, 4);
  assert.throws(() => decodeShimMessage(body), /truncated/);
});

test('attach frames carry bytes unchanged, and STATE carries the log error fields', () => {
  const data = Buffer.from([0, 1, 2, 0xff, 0x0a]);
  const frame = decodeShimMessage(encodeShimMessage(ShimAttachFrame.STDOUT, [{ type: 'DATA', value: { data } }]).subarray(4));
  assert.equal(frame.type, ShimAttachFrame.STDOUT);
  assert.deepEqual(Buffer.from(findRecord(frame, 'DATA')!.data), data);
  const st = decodeShimMessage(encodeShimMessage(ShimReply.STATE, [
    { type: 'LOG_ERRORS', value: { count: 3 } },
    { type: 'LOG_ERROR', value: { message: 'cannot write log /x: no space left on device' } },
  ]).subarray(4));
  assert.equal(findRecord(st, 'LOG_ERRORS')?.count, 3);
  assert.match(findRecord(st, 'LOG_ERROR')!.message, /no space left/);
});
