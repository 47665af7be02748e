import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrames, STDERR, STDOUT, SYSTEMERR } from '../../src/common/stdcopy.js';
import { Demuxer } from '../../src/cli/streams.js';

function run(chunks: Buffer[]): { out: string; err: string; writes: number; leftover: number } {
  let out = '';
  let err = '';
  let writes = 0;
  const d = new Demuxer((to, data) => { writes++; if (to === 1) out += data.toString(); else err += data.toString(); });
  for (const c of chunks) d.push(c);
  return { out, err, writes, leftover: d.leftover };
}

test('the CLI demultiplexer writes each run of one stream once per chunk, whatever the cuts', () => {
  const stream = Buffer.concat([
    encodeFrames(STDOUT, 'a1\n'), encodeFrames(STDOUT, 'a2\n'), encodeFrames(STDERR, 'e1\n'),
    encodeFrames(STDOUT, 'x'.repeat(70_000)), encodeFrames(SYSTEMERR, 'daemon error\n'), encodeFrames(STDOUT, 'end\n'),
  ]);
  const whole = run([stream]);
  assert.equal(whole.out, `a1\na2\n${'x'.repeat(70_000)}end\n`);
  assert.equal(whole.err, 'e1\ndaemon error\n');
  assert.equal(whole.writes, 5, 'a1+a2 one write; the 70 000 bytes (three frames) one write');
  assert.equal(whole.leftover, 0);
  // every cut, headers and payloads split across chunks
  for (const size of [1, 3, 7, 8, 9, 1000, 65536]) {
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
    const r = run(chunks);
    assert.equal(r.out, whole.out, `chunks of ${size}`);
    assert.equal(r.err, whole.err, `chunks of ${size}`);
  }
  assert.equal(run([stream.subarray(0, stream.length - 2)]).leftover, 2, 'a truncated stream is seen');
  assert.throws(() => run([Buffer.from([9, 0, 0, 0, 0, 0, 0, 1, 0x41])]), /unknown stream id 9/);
});
