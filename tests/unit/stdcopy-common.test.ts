/**
 * The shared stdcopy framing (src/common/stdcopy.ts): berthd's encoder read
 * back by the CLI's callback decoder, split at every byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrames, StdcopyDecoder, STDERR, STDOUT } from '../../src/common/stdcopy.js';
import { encodeFrames as apiEncode } from '../../src/api/stdcopy.js';

test('the API re-exports the one encoder; the callback decoder reads it at any split', () => {
  assert.equal(apiEncode, encodeFrames);
  const data = Buffer.concat([encodeFrames(STDOUT, 'out\n'), encodeFrames(STDERR, 'err\n'), encodeFrames(STDOUT, Buffer.alloc(40_000, 0x61))]);
  for (const split of [1, 7, 8, 9, 100, data.length]) {
    const got: string[] = [];
    const d = new StdcopyDecoder((s, p) => got.push(`${s}:${p.length}`));
    for (let i = 0; i < data.length; i += split) d.push(data.subarray(i, i + split));
    assert.deepEqual(got, ['1:4', '2:4', '1:32768', '1:7232'], `split ${split}`);
    assert.equal(d.leftover, 0);
  }
});
