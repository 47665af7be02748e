// CgroupStats → the JSON of `runc events --stats`, with runc's key names
// and its omitted zeros (the expected shape was taken from runc 1.1.5 here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toRuncStatsJson } from '../../src/runtime/cgroups/stats-json.js';
import { emptyStats } from '../../src/runtime/cgroups/types.js';

test('runc events --stats shape', () => {
  const s = emptyStats();
  s.cpu.usage = { total: 13030224, percpu: [3348119, 9682105], percpuKernel: [0, 8000000], percpuUser: [0, 0], kernel: 10000000, user: 0 };
  s.memory.usage = { limit: 67108864, usage: 466944, max: 2785280, failcnt: 0 };
  s.memory.kernelTCP = { limit: 1024, usage: 0, max: 0, failcnt: 0 };
  s.memory.raw = { cache: 0, rss: 53248 };
  s.pids = { current: 1, limit: 20 };
  s.hugetlb['2MB'] = { usage: 0, max: 0, failcnt: 0 };
  const j = toRuncStatsJson(s);
  assert.deepEqual(j.cpu, {
    usage: { total: 13030224, percpu: [3348119, 9682105], percpu_kernel: [0, 8000000], percpu_user: [0, 0], kernel: 10000000, user: 0 },
    throttling: {},
  });
  const mem = j.memory as Record<string, unknown>;
  assert.deepEqual(mem.usage, { limit: 67108864, usage: 466944, max: 2785280, failcnt: 0 });
  assert.deepEqual(mem.kernelTCP, { limit: 1024, failcnt: 0 });
  assert.equal('cache' in mem, false);
  assert.deepEqual(mem.raw, { cache: 0, rss: 53248 });
  assert.deepEqual(j.pids, { current: 1, limit: 20 });
  assert.deepEqual(j.blkio, {});
  assert.deepEqual(j.hugetlb, { '2MB': { failcnt: 0 } });
  assert.deepEqual(j.intel_rdt, {});
  assert.equal(j.network_interfaces, null);
  s.blkio.ioQueuedRecursive = [{ major: 8, minor: 0, op: 'Read', value: 0 }];
  assert.deepEqual(toRuncStatsJson(s).blkio, { ioQueueRecursive: [{ major: 8, op: 'Read' }] }, 'zeros are left out, as runc does');
});
