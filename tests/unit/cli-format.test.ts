/**
 * Docker's human units and table layout: ago times, decimal sizes, flag
 * sizes, the tabwriter's padding, image rows, host selection, stdcopy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageRows, displayPorts } from '../../src/cli/format/contexts.js';
import { tabwrite } from '../../src/cli/format/tabwriter.js';
import { ago, ellipsis, humanDuration, humanSize, parseBytes, parseGoDuration, parseTimeFlag, shortId } from '../../src/cli/format/units.js';
import { chooseHost, parseHost, DEFAULT_HOST } from '../../src/cli/host.js';
import { StdcopyDecoder } from '../../src/common/stdcopy.js';
import { compareVersions } from '../../src/cli/client.js';
import { eventLine } from '../../src/cli/commands/system.js';

test('ago: docker wording at each boundary', () => {
  const cases: [number, string][] = [
    [0, 'Less than a second'], [999, 'Less than a second'], [1000, '1 second'], [59_000, '59 seconds'], [60_000, 'About a minute'],
    [119_000, 'About a minute'], [120_000, '2 minutes'], [3_599_000, '59 minutes'], [3_600_000, 'About an hour'], [5_399_000, 'About an hour'],
    [5_400_000, '2 hours'], [47 * 3_600_000, '47 hours'], [48 * 3_600_000, '2 days'], [14 * 86_400_000, '2 weeks'], [60 * 86_400_000, '2 months'],
    [730 * 86_400_000, '2 years'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
  assert.equal(ago(100, 160_000), 'About a minute ago');
});

test('sizes: decimal with three significant digits; flags binary', () => {
  assert.deepEqual([0, 999, 1000, 1984308, 1_500_000_000, 123_456_789].map(humanSize), ['0B', '999B', '1kB', '1.98MB', '1.5GB', '123MB']);
  assert.deepEqual(['512m', '1g', '100k', '2b', '1.5GB', '10', 'x'].map(parseBytes), [536870912, 1073741824, 102400, 2, 1610612736, 10, undefined]);
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseGoDuration('500ms'), 500);
  assert.equal(parseGoDuration('5'), undefined);
  assert.equal(shortId('sha256:d15fe03fdc92d3e6cc29fd812381d2445936203cc8857c2789dcc890d0cf72d1'), 'd15fe03fdc92');
  assert.equal(ellipsis("sh -c 'echo hi; exit 3'", 20), "sh -c 'echo hi; exi…");
});

test('tabwriter: minwidth 10, padding 3, last cell unpadded, column blocks', () => {
  assert.equal(tabwrite('REPOSITORY\tTAG\tSIZE\nberth-e2e\tlatest\t1.98MB\n'), 'REPOSITORY   TAG       SIZE\nberth-e2e    latest    1.98MB\n');
  assert.equal(tabwrite('a\tb\nno tabs here at all\nc\td\n'), 'a         b\nno tabs here at all\nc         d\n');
});

test('ports column and image rows', () => {
  assert.equal(displayPorts([{ PrivatePort: 443, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]),
    '0.0.0.0:8080->80/tcp, 443/tcp, [::]:8080->80/tcp');
  const rows = imageRows([
    { Id: 'sha256:1', RepoTags: ['a:1', 'localhost:5000/b:2'], RepoDigests: ['a@sha256:ff'], Created: 2, Size: 1 },
    { Id: 'sha256:2', RepoTags: null, RepoDigests: null, Created: 1, Size: 1 },
  ], false);
  assert.deepEqual(rows.map((r) => [r.repository, r.tag, r.digest]), [['a', '1', 'sha256:ff'], ['localhost:5000/b', '2', '<none>'], ['<none>', '<none>', '<none>']]);
});

test('hosts: -H, then BERTH_HOST over DOCKER_HOST, then the default', () => {
  assert.equal(chooseHost('unix:///a', { BERTH_HOST: 'unix:///b' }), 'unix:///a');
  assert.equal(chooseHost(undefined, { BERTH_HOST: 'unix:///b', DOCKER_HOST: 'unix:///c' }), 'unix:///b');
  assert.equal(chooseHost(undefined, { DOCKER_HOST: 'unix:///c' }), 'unix:///c');
  assert.equal(chooseHost(undefined, {}), DEFAULT_HOST);
  assert.deepEqual(parseHost('tcp://127.0.0.1:2376'), { kind: 'tcp', host: '127.0.0.1', port: 2376, text: 'tcp://127.0.0.1:2376' });
  assert.deepEqual(parseHost('unix:///run/x.sock'), { kind: 'unix', path: '/run/x.sock', text: 'unix:///run/x.sock' });
  assert.throws(() => parseHost('ssh://x'));
  assert.ok(compareVersions('1.41', '1.47') < 0 && compareVersions('1.100', '1.47') > 0);
});

test('stdcopy: frames split anywhere are reassembled per stream', () => {
  const frame = (s: number, text: string): Buffer => {
    const h = Buffer.alloc(8); h[0] = s; h.writeUInt32BE(Buffer.byteLength(text), 4);
    return Buffer.concat([h, Buffer.from(text)]);
  };
  const all = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, '')]);
  const got: string[] = [];
  const d = new StdcopyDecoder((s, p) => got.push(`${s}:${p.toString()}`));
  for (let i = 0; i < all.length; i += 3) d.push(all.subarray(i, i + 3));
  assert.deepEqual(got, ['1:out\n', '2:err\n', '1:']);
  assert.equal(d.leftover, 0);
  assert.throws(() => new StdcopyDecoder(() => {}).push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])), /unrecognized input header/);
});

test('event lines: nanosecond time, type, action, id, sorted attributes', () => {
  const raw = '{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"web","image":"busybox"}},"time":1764432917,"timeNano":1764432917123456789}';
  const prevTz = process.env.TZ;
  process.env.TZ = 'UTC';
  try {
    assert.equal(eventLine(JSON.parse(raw) as Record<string, unknown>, raw), '2025-11-29T16:15:17.123456789Z container start abc (image=busybox, name=web)\n');
  } finally { if (prevTz === undefined) delete process.env.TZ; else process.env.TZ = prevTz; }
});

test('time flags keep a timestamp\'s nanoseconds, as the docker CLI sends them', () => {
  assert.equal(parseTimeFlag('2026-11-29T17:28:48.123456789Z'), '1795973328.123456789');
  assert.equal(parseTimeFlag('2026-11-29T17:28:48.5+01:00'), '1795969728.500000000');
  assert.equal(parseTimeFlag('2026-11-29T17:28:48Z'), '1795973328.000000000');
  assert.equal(parseTimeFlag('1795973328.25'), '1795973328.25');
  assert.equal(parseTimeFlag('10s', 1_000_000), '990');
});
