import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNetDev, parseProcStat, statsDocument } from '../../src/daemon/stats/convert.js';
import { parsePs } from '../../src/daemon/stats/top.js';

const host = { systemCpuNs: 5e12, onlineCpus: 2, memTotal: 8 << 30 };

test("runc's stats become Docker's document", () => {
  const metrics = { type: 'stats', data: {
    cpu: { usage: { total: 300, percpu: [100, 200], kernel: 10, user: 20 }, throttling: { periods: 4 } },
    memory: { usage: { usage: 4096, max: 8192, limit: 9223372036854771712, failcnt: 0 }, raw: { total_inactive_file: 1024, cache: 2048 } },
    pids: { current: 3 }, blkio: { ioServiceBytesRecursive: [{ major: 8, minor: 0, op: 'read', value: 5 }] },
  } };
  const prev = { read: '2026-11-29T14:00:00Z', metrics: { cpu: { usage: { total: 100 } } }, host, networks: undefined };
  const doc = statsDocument('id1', '/web', { read: '2026-11-29T14:00:01Z', metrics, host, networks: { eth0: parseNetDev('h\nh\n  eth0: 10 2 0 0 0 0 0 0 20 3 0 0 0 0 0 0\n')['eth0']! } }, prev) as Record<string, any>;
  assert.equal(doc.cpu_stats.cpu_usage.total_usage, 300);
  assert.deepEqual(doc.cpu_stats.cpu_usage.percpu_usage, [100, 200]);
  assert.equal(doc.precpu_stats.cpu_usage.total_usage, 100);
  assert.equal(doc.cpu_stats.online_cpus, 2);
  assert.equal(doc.memory_stats.usage, 4096);
  assert.equal(doc.memory_stats.limit, 8 << 30, 'no limit: the host memory');
  assert.equal(doc.memory_stats.stats.total_inactive_file, 1024);
  assert.equal(doc.pids_stats.current, 3);
  assert.deepEqual(doc.blkio_stats.io_service_bytes_recursive, [{ major: 8, minor: 0, op: 'Read', value: 5 }]);
  assert.equal(doc.networks.eth0.rx_bytes, 10);
  assert.equal(doc.networks.eth0.tx_bytes, 20);
  assert.equal(doc.name, '/web');
  assert.equal(doc.preread, '2026-11-29T14:00:00Z');
});

test('/proc/stat and ps output', () => {
  assert.equal(parseProcStat('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1\n'), 10e9);
  const ps = 'UID PID PPID C STIME TTY TIME CMD\nroot 10 1 0 14:00 ? 00:00:00 sh -c sleep 1\nroot 11 1 0 14:00 ? 00:00:00 other\n';
  assert.deepEqual(parsePs(ps, new Set([10])), { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: [['root', '10', '1', '0', '14:00', '?', '00:00:00', 'sh -c sleep 1']] });
});
