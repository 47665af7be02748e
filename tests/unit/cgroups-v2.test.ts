// The v2 driver against a plain directory laid out like a unified
// /sys/fs/cgroup, and the v1 → v2 conversions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCgroup, fromPaths } from '../../src/runtime/cgroups/manager.js';
import { observeWrites } from '../../src/runtime/cgroups/files.js';
import { blkioWeightToIoWeight, cpuMax, sharesToWeight, swapToV2 } from '../../src/runtime/cgroups/convert.js';
import { parseIoStat } from '../../src/runtime/cgroups/v2-stats.js';
import { BerthError } from '../../src/common/errors.js';

function put(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [n, v] of Object.entries(files)) writeFileSync(join(dir, n), v);
}

const ALL = 'cpuset cpu io memory hugetlb pids rdma';

/** A unified root whose controllers are all enabled down to berth/<leaf>. */
function fakeUnified(leaf: string, opts: { rootEnabled?: string } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-cg-v2-'));
  put(root, { 'cgroup.controllers': ALL, 'cgroup.subtree_control': opts.rootEnabled ?? ALL, 'cgroup.procs': '' });
  put(join(root, 'berth'), { 'cgroup.controllers': opts.rootEnabled ?? ALL, 'cgroup.subtree_control': '' });
  put(join(root, 'berth', leaf), {
    'cgroup.controllers': opts.rootEnabled ?? ALL, 'cgroup.procs': '', 'cpu.max': 'max 100000\n', 'memory.swap.max': 'max\n',
    'memory.high': 'max\n', 'hugetlb.2MB.max': 'max\n', 'cgroup.events': 'populated 0\nfrozen 0\n', 'memory.current': '100\n',
  });
  return root;
}

function record(fn: () => void): string[] {
  const writes: string[] = [];
  const undo = observeWrites((p, d) => writes.push(`${p}=${d}`));
  try {
    fn();
  } finally {
    undo();
  }
  return writes;
}

test('conversions: shares → weight, blkio weight → io.weight, swap, cpu.max', () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(sharesToWeight(0), 0);
  assert.equal(blkioWeightToIoWeight(10), 1);
  assert.equal(blkioWeightToIoWeight(500), 4950);
  assert.equal(blkioWeightToIoWeight(1000), 10000);
  assert.equal(swapToV2(-1, 100), 'max');
  assert.equal(swapToV2(300, 100), '200');
  assert.equal(swapToV2(100, 100), '0');
  assert.equal(swapToV2(0, 100), undefined);
  assert.throws(() => swapToV2(50, 100), /must not be lower than the memory limit/);
  assert.throws(() => swapToV2(50, undefined), /needs a memory limit/);
  assert.equal(cpuMax(50000, 100000, 'max 100000'), '50000 100000');
  assert.equal(cpuMax(-1, undefined, '20000 50000\n'), 'max 50000');
  assert.equal(cpuMax(undefined, 200000, '20000 50000\n'), '20000 200000');
});

test('v2: a full resources object writes every file', () => {
  const root = fakeUnified('c1');
  try {
    const m = openCgroup({ cgroupsPath: '/berth/c1', id: 'c1', systemd: false, root });
    assert.equal(m.version, 2);
    assert.deepEqual(m.paths, { '': join(root, 'berth', 'c1') });
    m.create();
    const dir = join(root, 'berth', 'c1');
    const writes = record(() => m.apply({
      memory: { limit: 1000, reservation: 500, swap: 3000, kernel: 5, swappiness: 3 },
      cpu: { shares: 1024, quota: 20000, period: 50000, burst: 100, idle: 0, cpus: '0-1', mems: '0' },
      pids: { limit: -1 },
      blockIO: {
        weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 10 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 100 }], throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 200 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 300 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 400 }],
      },
      hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
      rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 1000 } },
      unified: { 'memory.high': '900' },
    })).map((w) => w.slice(dir.length + 1));
    assert.deepEqual(writes, [
      'memory.max=1000', 'memory.swap.max=2000', 'memory.low=500',
      'cpu.weight=39', 'cpu.max=20000 50000', 'cpu.max.burst=100', 'cpu.idle=0', 'cpuset.cpus=0-1', 'cpuset.mems=0',
      'pids.max=max',
      'io.weight=default 4950', 'io.weight=8:0 1', 'io.max=8:0 rbps=100', 'io.max=8:0 wbps=200', 'io.max=8:0 riops=300', 'io.max=8:0 wiops=400',
      'hugetlb.2MB.max=4194304',
      'rdma.max=mlx5_0 hca_handle=3 hca_object=1000',
      'memory.high=900',
    ]);
    assert.equal(fromPaths(m.paths).version, 2);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('v2: create passes controllers down below the root, apply enables a missing one from the root', () => {
  const root = fakeUnified('c2', { rootEnabled: '' });
  try {
    const m = openCgroup({ cgroupsPath: '/berth/c2/inner', id: 'c2', systemd: false, root });
    put(join(root, 'berth', 'c2'), { 'cgroup.controllers': 'pids memory', 'cgroup.subtree_control': '' });
    const created = record(() => m.create()).map((w) => w.slice(root.length));
    assert.deepEqual(created, ['/berth/c2/cgroup.subtree_control=+pids', '/berth/c2/cgroup.subtree_control=+memory'],
      'the hierarchy root is left alone and /berth has nothing to pass down');
    // The fake kernel: nothing propagates, so enabling pids fails with a clear error.
    assert.throws(() => m.apply({ pids: { limit: 10 } }), (e: unknown) => e instanceof BerthError && e.kind === 'unavailable'
      && e.message === `cgroup v2 controller pids is not enabled in ${join(root, 'berth', 'c2', 'inner')}`);
    assert.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+pids', 'apply tried the root for a missing controller');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('v2: unified keys and v2-only refusals', () => {
  const root = fakeUnified('c3', { rootEnabled: 'memory pids' });
  try {
    const m = openCgroup({ cgroupsPath: '/berth/c3', id: 'c3', systemd: false, root });
    m.create();
    const err = (r: Parameters<typeof m.apply>[0]): BerthError => {
      try {
        m.apply(r);
      } catch (e) {
        assert.ok(e instanceof BerthError, String(e));
        return e;
      }
      assert.fail('expected an error');
    };
    assert.match(err({ unified: { '../memory.max': '1' } }).message, /not a cgroup file name/);
    assert.match(err({ unified: { 'a/b': '1' } }).message, /not a cgroup file name/);
    assert.equal(err({ unified: { 'io.max': '1' } }).message, `cgroup v2 controller io is not enabled in ${join(root, 'berth', 'c3')}`);
    assert.match(err({ unified: { 'memory.nosuch': '1' } }).message, /has no such file/);
    assert.match(err({ cpu: { realtimeRuntime: 5 } }).message, /realtime/);
    assert.match(err({ memory: { limit: 10, swap: 5 } }).message, /must not be lower/);
    assert.equal(err({ memory: { limit: 10, checkBeforeUpdate: true } }).kind, 'failed-precondition');
    assert.deepEqual(record(() => m.apply({ memory: { limit: -1 } })).map((w) => w.split('/').pop()), ['memory.max=max', 'memory.swap.max=max']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('v2: stats from the files', () => {
  const root = fakeUnified('c4');
  try {
    const m = openCgroup({ cgroupsPath: '/berth/c4', id: 'c4', systemd: false, root });
    put(join(root, 'berth', 'c4'), {
      'cpu.stat': 'usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\nnr_periods 5\nnr_throttled 2\nthrottled_usec 70\n',
      'memory.current': '8192\n', 'memory.peak': '9000\n', 'memory.max': 'max\n', 'memory.events': 'low 0\nhigh 0\nmax 4\noom 1\n',
      'memory.stat': 'anon 4096\nfile 2048\n', 'memory.swap.current': '100\n', 'memory.swap.max': '1000\n',
      'pids.current': '2\n', 'pids.max': '50\n', 'io.stat': '8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n',
      'hugetlb.2MB.current': '0\n', 'hugetlb.2MB.events': 'max 3\n',
    });
    const s = m.stats();
    assert.deepEqual(s.cpu.usage, { total: 3e6, percpu: [], percpuKernel: [], percpuUser: [], kernel: 1e6, user: 2e6 });
    assert.deepEqual(s.cpu.throttling, { periods: 5, throttledPeriods: 2, throttledTime: 70000 });
    assert.deepEqual(s.memory.usage, { usage: 8192, max: 9000, limit: 0, failcnt: 4 });
    assert.equal(s.memory.cache, 2048);
    assert.equal(s.memory.swap.usage, 8292);
    assert.deepEqual(s.pids, { current: 2, limit: 50 });
    assert.deepEqual(s.hugetlb['2MB'], { usage: 0, max: 0, failcnt: 3 });
    assert.deepEqual(parseIoStat('8:0 rbytes=10 wbytes=20 rios=1 wios=2\n').ios, [
      { major: 8, minor: 0, op: 'Read', value: 1 }, { major: 8, minor: 0, op: 'Write', value: 2 },
    ]);
    assert.equal(s.blkio.ioServiceBytesRecursive.length, 3);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
