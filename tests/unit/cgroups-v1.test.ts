// The v1 driver against a plain directory laid out like a hybrid
// /sys/fs/cgroup: which files get which values, in which order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCgroup, fromPaths } from '../../src/runtime/cgroups/manager.js';
import { observeWrites } from '../../src/runtime/cgroups/files.js';
import { BerthError } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/log.js';
import type { LinuxResources } from '../../src/runtime/cgroups/types.js';

const V1 = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids'];

function put(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [n, v] of Object.entries(files)) writeFileSync(join(dir, n), v);
}

/** A hybrid root; the container's memory/cpu/blkio dirs pre-seeded with the optional files the kernel would show. */
function fakeHybrid(leaf: string): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-cg-v1-'));
  for (const c of V1) put(join(root, c), { 'cgroup.procs': '' });
  put(join(root, 'systemd'), { 'cgroup.procs': '' });
  put(join(root, 'unified'), { 'cgroup.controllers': '', 'cgroup.procs': '' });
  put(join(root, 'cpuset'), { 'cpuset.cpus': '0-1\n', 'cpuset.mems': '0\n', 'cpuset.effective_cpus': '0-1\n', 'cpuset.effective_mems': '0\n' });
  put(join(root, 'memory', leaf), {
    'memory.limit_in_bytes': '9223372036854771712\n', 'memory.memsw.limit_in_bytes': '9223372036854771712\n',
    'memory.kmem.tcp.limit_in_bytes': '', 'memory.use_hierarchy': '1\n', 'memory.usage_in_bytes': '1000\n',
  });
  put(join(root, 'cpu', leaf), { 'cpu.idle': '0', 'cpu.cfs_burst_us': '0', 'cpu.rt_period_us': '', 'cpu.rt_runtime_us': '', 'cpu.shares': '1024' });
  put(join(root, 'blkio', leaf), { 'blkio.bfq.weight': '', 'blkio.bfq.weight_device': '' });
  return root;
}

function record(fn: () => void): Array<[string, string]> {
  const writes: Array<[string, string]> = [];
  const undo = observeWrites((p, d) => writes.push([p, d]));
  try {
    fn();
  } finally {
    undo();
  }
  return writes;
}

const full: LinuxResources = {
  devices: [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'c', major: 136, access: 'rw' },
    { allow: false, type: 'b', major: 8, minor: 0, access: 'm' },
  ],
  memory: { limit: 100 << 20, reservation: 50 << 20, swap: 200 << 20, kernel: 1 << 20, kernelTCP: 2 << 20, swappiness: 10, disableOOMKiller: true, useHierarchy: true },
  cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, realtimePeriod: 1000000, realtimeRuntime: 0, cpus: '0', mems: '0', idle: 1 },
  pids: { limit: 64 },
  blockIO: {
    weight: 300,
    weightDevice: [{ major: 8, minor: 0, weight: 200 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
    throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }],
    throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 200 }],
  },
};

test('v1: a full resources object writes every file, in order', () => {
  const root = fakeHybrid('c1');
  try {
    const warnings: string[] = [];
    const log: Logger = {
      debug: () => {}, info: () => {}, error: () => {}, warn: (msg) => warnings.push(msg), with: () => log,
    };
    const m = openCgroup({ cgroupsPath: '/c1', id: 'x', systemd: false, root, log });
    assert.equal(m.version, 1);
    m.create();
    const writes = record(() => m.apply(full)).map(([p, d]) => [p.slice(root.length), d]);
    assert.deepEqual(writes, [
      ['/devices/c1/devices.deny', 'a'],
      ['/devices/c1/devices.deny', 'a'],
      ['/devices/c1/devices.allow', 'c 1:3 rwm'],
      ['/devices/c1/devices.allow', 'c 136:* rw'],
      ['/devices/c1/devices.deny', 'b 8:0 m'],
      // growing from unlimited: the limit first (memsw stays above it)
      ['/memory/c1/memory.limit_in_bytes', String(100 << 20)],
      ['/memory/c1/memory.memsw.limit_in_bytes', String(200 << 20)],
      ['/memory/c1/memory.soft_limit_in_bytes', String(50 << 20)],
      ['/memory/c1/memory.kmem.tcp.limit_in_bytes', String(2 << 20)],
      ['/memory/c1/memory.swappiness', '10'],
      ['/memory/c1/memory.oom_control', '1'],
      ['/cpu/c1/cpu.shares', '512'],
      ['/cpu/c1/cpu.cfs_period_us', '100000'],
      ['/cpu/c1/cpu.cfs_quota_us', '50000'],
      ['/cpu/c1/cpu.cfs_burst_us', '1000'],
      ['/cpu/c1/cpu.rt_period_us', '1000000'],
      ['/cpu/c1/cpu.idle', '1'],
      ['/cpuset/c1/cpuset.cpus', '0'],
      ['/cpuset/c1/cpuset.mems', '0'],
      ['/pids/c1/pids.max', '64'],
      ['/blkio/c1/blkio.bfq.weight', '300'],
      ['/blkio/c1/blkio.bfq.weight_device', '8:0 200'],
      ['/blkio/c1/blkio.throttle.read_bps_device', '8:0 1048576'],
      ['/blkio/c1/blkio.throttle.write_bps_device', '8:0 2097152'],
      ['/blkio/c1/blkio.throttle.read_iops_device', '8:16 100'],
      ['/blkio/c1/blkio.throttle.write_iops_device', '8:16 200'],
    ]);
    assert.equal(warnings.length, 1, 'kernel memory is ignored with one warning');
    assert.match(warnings[0] as string, /kernel memory/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('v1: memsw goes first when growing above the current limit, last when shrinking', () => {
  const root = fakeHybrid('c2');
  try {
    const m = openCgroup({ cgroupsPath: '/c2', id: 'x', systemd: false, root });
    m.create();
    const mem = join(root, 'memory', 'c2');
    writeFileSync(join(mem, 'memory.limit_in_bytes'), '1000');
    const grow = record(() => m.apply({ memory: { limit: 3000, swap: 4000 } })).map(([p, d]) => `${p.slice(mem.length + 1)}=${d}`);
    assert.deepEqual(grow, ['memory.memsw.limit_in_bytes=4000', 'memory.limit_in_bytes=3000']);
    writeFileSync(join(mem, 'memory.limit_in_bytes'), '3000');
    const shrink = record(() => m.apply({ memory: { limit: 500, swap: 800 } })).map(([p, d]) => `${p.slice(mem.length + 1)}=${d}`);
    assert.deepEqual(shrink, ['memory.limit_in_bytes=500', 'memory.memsw.limit_in_bytes=800']);
    const unlimited = record(() => m.apply({ memory: { limit: -1 } })).map(([p, d]) => `${p.slice(mem.length + 1)}=${d}`);
    assert.deepEqual(unlimited, ['memory.memsw.limit_in_bytes=-1', 'memory.limit_in_bytes=-1']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('v1: create makes every hierarchy, seeds cpuset level by level, paths round-trip', () => {
  const root = fakeHybrid('unused');
  try {
    const m = openCgroup({ cgroupsPath: '/a/b', id: 'x', systemd: false, root });
    m.create();
    for (const c of [...V1, 'systemd', 'unified']) assert.ok(existsSync(join(root, c, 'a', 'b')), c);
    for (const level of ['a', 'a/b']) {
      assert.equal(readFileSync(join(root, 'cpuset', level, 'cpuset.cpus'), 'utf8'), '0-1');
      assert.equal(readFileSync(join(root, 'cpuset', level, 'cpuset.mems'), 'utf8'), '0');
    }
    assert.equal(m.paths['name=systemd'], join(root, 'systemd', 'a', 'b'));
    assert.equal(m.paths[''], join(root, 'unified', 'a', 'b'));
    assert.equal(m.paths.memory, join(root, 'memory', 'a', 'b'));
    const again = fromPaths(JSON.parse(JSON.stringify(m.paths)) as Record<string, string>);
    assert.equal(again.version, 1);
    assert.deepEqual(again.paths, m.paths);
    const procs = record(() => m.addProcess(4242)).map(([p, d]) => `${p.slice(root.length)}=${d}`);
    assert.equal(procs.length, V1.length + 2, 'the process joins every hierarchy, systemd and unified included');
    assert.ok(procs.every((w) => w.endsWith('/a/b/cgroup.procs=4242')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('v1: devices, pids and errors', () => {
  const root = fakeHybrid('c3');
  try {
    const m = openCgroup({ cgroupsPath: '/c3', id: 'x', systemd: false, root });
    m.create();
    const w = record(() => m.apply({ pids: { limit: 0 }, devices: [{ allow: true, type: 'a', major: 5, access: 'r' }, { allow: true }] }));
    assert.deepEqual(w.map(([, d]) => d), ['a', 'c 5:* r', 'b 5:* r', 'a', 'max']);
    const err = (r: LinuxResources): BerthError => {
      try {
        m.apply(r);
      } catch (e) {
        assert.ok(e instanceof BerthError, String(e));
        return e;
      }
      assert.fail('expected an error');
    };
    assert.match(err({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }).message, /hugetlb cgroup controller is not available/);
    assert.match(err({ unified: { 'memory.high': '1' } }).message, /host uses cgroup v1/);
    assert.match(err({ memory: { swappiness: 101 } }).message, /swappiness 101/);
    assert.match(err({ devices: [{ allow: true, type: 'x' }] }).message, /rule type "x"/);
    assert.match(err({ devices: [{ allow: true, access: 'rwz' }] }).message, /access "rwz"/);
    assert.match(err({ network: { classID: 1 } }).message, /net_cls cgroup controller is not mounted/);
    writeFileSync(join(root, 'memory', 'c3', 'memory.usage_in_bytes'), '5000');
    assert.equal(err({ memory: { limit: 4000, checkBeforeUpdate: true } }).kind, 'failed-precondition');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('v1: freezer state, pids listing and stats from the files', () => {
  const root = fakeHybrid('c4');
  try {
    const m = openCgroup({ cgroupsPath: '/c4', id: 'x', systemd: false, root });
    m.create();
    m.freeze();
    assert.equal(readFileSync(join(root, 'freezer', 'c4', 'freezer.state'), 'utf8'), 'FROZEN');
    assert.ok(m.isFrozen());
    m.thaw();
    assert.ok(!m.isFrozen());
    put(join(root, 'freezer', 'c4'), { 'cgroup.procs': '10\n11\n' });
    put(join(root, 'freezer', 'c4', 'sub'), { 'cgroup.procs': '12\n' });
    assert.deepEqual(m.pids(), [10, 11, 12]);
    put(join(root, 'cpuacct', 'c4'), {
      'cpuacct.usage': '3000\n', 'cpuacct.usage_percpu': '1000 2000 \n', 'cpuacct.usage_sys': '500\n', 'cpuacct.usage_user': '2500\n',
      'cpuacct.usage_percpu_sys': '200 300\n', 'cpuacct.usage_percpu_user': '800 1700\n',
    });
    put(join(root, 'cpu', 'c4'), { 'cpu.stat': 'nr_periods 7\nnr_throttled 3\nthrottled_time 900\n' });
    put(join(root, 'memory', 'c4'), {
      'memory.stat': 'cache 4096\nrss 8192\ntotal_cache 4096\n', 'memory.usage_in_bytes': '12288\n', 'memory.max_usage_in_bytes': '20000\n',
      'memory.failcnt': '2\n', 'memory.limit_in_bytes': '104857600\n', 'memory.memsw.usage_in_bytes': '12288\n',
    });
    put(join(root, 'pids', 'c4'), { 'pids.current': '3\n', 'pids.max': 'max\n' });
    put(join(root, 'blkio', 'c4'), { 'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n' });
    const s = m.stats();
    assert.deepEqual(s.cpu.usage, { total: 3000, percpu: [1000, 2000], percpuKernel: [200, 300], percpuUser: [800, 1700], kernel: 500, user: 2500 });
    assert.deepEqual(s.cpu.throttling, { periods: 7, throttledPeriods: 3, throttledTime: 900 });
    assert.equal(s.memory.cache, 4096);
    assert.deepEqual(s.memory.usage, { usage: 12288, max: 20000, failcnt: 2, limit: 104857600 });
    assert.equal(s.memory.raw.rss, 8192);
    assert.deepEqual(s.pids, { current: 3, limit: 0 });
    assert.deepEqual(s.blkio.ioServiceBytesRecursive, [
      { major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 0 }, { major: 8, minor: 0, op: 'Total', value: 4096 },
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
