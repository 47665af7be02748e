/**
 * Pure logic of the later CLI commands: stats arithmetic, df rows, port
 * lines, cp argument splitting and renames, registry keys and auth header,
 * the non-TTY progress display, the completion script's tables, contexts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuPercent, memoryUsage, statsRow } from '../../src/cli/commands/stats.js';
import { dfRows } from '../../src/cli/commands/maintenance.js';
import { portLines } from '../../src/cli/commands/details.js';
import { decodePathStat, isDirMode, renameRoot, splitCpArg } from '../../src/cli/commands/cp.js';
import { registryAuthHeader, registryKey, registryOf, HUB_AUTH_KEY } from '../../src/cli/commands/registry.js';
import { ProgressDisplay } from '../../src/cli/progress.js';
import { bashCompletion } from '../../src/cli/commands/completion.js';
import { currentContextName, resolveHost, setCurrentContext, writeContext } from '../../src/cli/contextstore.js';
import { bytesSize, humanSize4 } from '../../src/cli/format/units.js';

test('stats: CPU % over the sample, memory without inactive file cache', () => {
  const s = {
    cpu_stats: { cpu_usage: { total_usage: 3_000_000 }, system_cpu_usage: 20_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 1_000_000 }, system_cpu_usage: 10_000_000 },
    memory_stats: { usage: 10_000, limit: 100_000, stats: { total_inactive_file: 2_000 } },
    networks: { eth0: { rx_bytes: 1086, tx_bytes: 0 }, eth1: { rx_bytes: 14, tx_bytes: 5 } },
    blkio_stats: { io_service_bytes_recursive: [{ op: 'Read', value: 4096 }, { op: 'Write', value: 10 }, { op: 'Total', value: 4106 }] },
    pids_stats: { current: 3 }, name: '/web', id: 'abc',
  };
  assert.equal(cpuPercent(s), 40);
  assert.equal(memoryUsage(s), 8_000);
  assert.equal(memoryUsage({ memory_stats: { usage: 100, stats: { inactive_file: 500 } } }), 100);
  const r = statsRow('web', s);
  assert.deepEqual([r.name, r.netRx, r.netTx, r.blockRead, r.blockWrite, r.pids, r.memPercent], ['web', 1100, 5, 4096, 10, 3, 8]);
  assert.equal(cpuPercent({}), 0);
  assert.equal(bytesSize(25276502016), '23.54GiB');
  assert.equal(humanSize4(1984000), '1.984MB');
});

test('system df: counts, sizes and integer reclaimable percentages', () => {
  const rows = dfRows({
    LayersSize: 1000,
    Images: [{ Id: 'a', Created: 0, Size: 600, SharedSize: 100, Containers: 1 }, { Id: 'b', Created: 0, Size: 400, SharedSize: 0, Containers: 0 }],
    Containers: [{ Id: 'c', Image: '', Command: '', Created: 0, State: 'running', Status: '', SizeRw: 6 }, { Id: 'd', Image: '', Command: '', Created: 0, State: 'exited', Status: '', SizeRw: 3 }],
    Volumes: [], BuildCache: [],
  });
  assert.deepEqual(rows.map((r) => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable]), [
    ['Images', '2', '1', '1kB', '500B (50%)'], ['Containers', '2', '1', '9B', '3B (33%)'], ['Local Volumes', '0', '0', '0B', '0B'], ['Build Cache', '0', '0', '0B', '0B'],
  ]);
});

test('port: sorted lines, a filter defaulting to tcp, IPv6 in brackets', () => {
  const ports = { '81/udp': [{ HostIp: '127.0.0.1', HostPort: '9999' }], '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }, { HostIp: '::', HostPort: '32768' }], '443/tcp': null };
  assert.deepEqual(portLines(ports), ['80/tcp -> 0.0.0.0:32768', '80/tcp -> [::]:32768', '81/udp -> 127.0.0.1:9999']);
  assert.deepEqual(portLines(ports, '80'), ['0.0.0.0:32768', '[::]:32768']);
  assert.deepEqual(portLines(ports, '81'), []);
});

test('cp: arguments split as docker splits them; root renames; path stat', () => {
  assert.deepEqual(splitCpArg('web:/etc/passwd'), { container: 'web', path: '/etc/passwd' });
  assert.deepEqual(splitCpArg('/abs:with-colon'), { path: '/abs:with-colon' });
  assert.deepEqual(splitCpArg('./rel:x'), { path: './rel:x' });
  assert.deepEqual(splitCpArg('file'), { path: 'file' });
  assert.equal(renameRoot('a.txt', 'b&c'), 's,^a\\.txt\\(/\\|$\\),b\\&c\\1,');
  const stat = decodePathStat(Buffer.from(JSON.stringify({ name: 'etc', size: 4096, mode: 2147484141, mtime: '', linkTarget: '' })).toString('base64'));
  assert.equal(stat?.name, 'etc');
  assert.equal(isDirMode(stat!.mode), true);
  assert.equal(isDirMode(416), false);
});

test('registry keys, references and the X-Registry-Auth header', () => {
  assert.equal(registryKey(undefined), HUB_AUTH_KEY);
  assert.equal(registryKey('docker.io'), HUB_AUTH_KEY);
  assert.equal(registryKey('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
  assert.equal(registryOf('127.0.0.1:5000/x/y:1'), '127.0.0.1:5000');
  assert.equal(registryOf('library/busybox'), undefined);
  assert.equal(registryOf('localhost/x'), 'localhost');
  const h = registryAuthHeader({ username: 'u', password: 'p?>' }, 'r:1');
  assert.ok(!/[+/]/.test(h) && h.length % 4 === 0, h);
  assert.deepEqual(JSON.parse(Buffer.from(h, 'base64').toString()), { username: 'u', password: 'p?>', serveraddress: 'r:1' });
});

test('progress display off a terminal: status lines, no progress updates, aux to the caller, errors thrown', () => {
  let out = '';
  const aux: unknown[] = [];
  const d = new ProgressDisplay((t) => { out += t; }, false, (a) => aux.push(a));
  d.show({ status: 'The push refers to repository [r/x]' });
  d.show({ id: 'abc', status: 'Preparing', progressDetail: {} });
  d.show({ id: 'abc', status: 'Pushing', progress: '[==>  ] 1kB/2kB', progressDetail: { current: 1, total: 2 } });
  d.show({ id: 'abc', status: 'Pushed', progressDetail: {} });
  d.show({ stream: 'Loaded image: x:1\n' });
  d.show({ aux: { Tag: '1' } });
  assert.equal(out, 'The push refers to repository [r/x]\nabc: Preparing\nabc: Pushed\nLoaded image: x:1\n');
  assert.deepEqual(aux, [{ Tag: '1' }]);
  assert.throws(() => d.show({ errorDetail: { message: 'denied' }, error: 'denied' }), /denied/);
});

test('completion script: top words, groups and flags come from the table', () => {
  const script = bashCompletion([
    { names: ['run', 'container run'], usage: '', summary: '', flags: [{ name: 'rm', type: 'bool' }, { name: 'name', type: 'string' }], run: async () => 0 },
    { names: ['volume ls'], usage: '', summary: '', flags: [{ name: 'quiet', short: 'q', type: 'bool' }], run: async () => 0 },
  ], [{ name: 'host', short: 'H', type: 'list' }]);
  assert.match(script, /_berth_top="container run volume"/);
  assert.match(script, /container\) echo "run" ;;/);
  assert.match(script, /"volume ls"\) echo "--quiet -q" ;;/);
  assert.match(script, /--host\|-H\) \(\(i\+\+\)\)/);
  assert.match(script, /complete -F _berth berth/);
});

test('contexts: host precedence -H, --context, BERTH_HOST/DOCKER_HOST, current context', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-ctx-'));
  try {
    const env = { DOCKER_CONFIG: dir };
    writeContext(env, { Name: 'a', Metadata: {}, Endpoints: { docker: { Host: 'unix:///a.sock', SkipTLSVerify: false } } });
    assert.equal(currentContextName(env), 'default');
    assert.equal(resolveHost(undefined, undefined, env), 'unix:///run/berth/berth.sock');
    setCurrentContext(env, 'a');
    assert.equal(resolveHost(undefined, undefined, env), 'unix:///a.sock');
    assert.equal(resolveHost(undefined, undefined, { ...env, DOCKER_HOST: 'unix:///d.sock' }), 'unix:///d.sock');
    assert.equal(resolveHost(undefined, 'default', { ...env, BERTH_HOST: 'unix:///b.sock' }), 'unix:///b.sock');
    assert.equal(resolveHost('unix:///h.sock', 'a', env), 'unix:///h.sock');
    assert.throws(() => resolveHost(undefined, 'missing', env), /context "missing" does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
