import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coalesce } from '../../src/core/attachment.js';

type Chunk = { stream: 'stdout' | 'stderr'; data: Buffer };
const c = (stream: Chunk['stream'], s: string): Chunk => ({ stream, data: Buffer.from(s) });

/** A source whose first chunks are all there at once, then one more that comes 50 ms later. */
function source(log: string[]): AsyncIterable<Chunk> {
  const now = [c('stdout', 'a'), c('stdout', 'b'), c('stderr', 'e'), c('stdout', 'c'), c('stdout', 'd')];
  return {
    [Symbol.asyncIterator]() {
      let i = 0;
      let late = false;
      return {
        next: async (): Promise<IteratorResult<Chunk>> => {
          if (i < now.length) return { value: now[i++]!, done: false };
          if (!late) { late = true; await new Promise((r) => setTimeout(r, 50)); return { value: c('stdout', 'late'), done: false }; }
          return { value: undefined, done: true };
        },
        return: async (): Promise<IteratorResult<Chunk>> => { log.push('return'); return { value: undefined, done: true }; },
      };
    },
  };
}

test('coalesce merges chunks of one stream already there, keeps order and streams, waits for nothing', async () => {
  const log: string[] = [];
  const out: string[] = [];
  for await (const x of coalesce(source(log))) out.push(`${x.stream}:${x.data.toString()}`);
  assert.deepEqual(out, ['stdout:ab', 'stderr:e', 'stdout:cd', 'stdout:late']);
  // at most `max` bytes per merged chunk
  const small: string[] = [];
  for await (const x of coalesce(source([]), 1)) small.push(x.data.toString());
  assert.deepEqual(small, ['a', 'b', 'e', 'c', 'd', 'late']);
});

test('a consumer that stops early ends the source (a detach reaches the attachment)', async () => {
  const log: string[] = [];
  for await (const x of coalesce(source(log))) { assert.equal(x.data.toString(), 'ab'); break; }
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(log, ['return']);
});
