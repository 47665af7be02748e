/**
 * Statistics from cgroup v1 files. A missing controller leaves its part at
 * zero, as runc does.
 */
import { readdirSync } from 'node:fs';
import { readKeyValues, readNumber, readOptional } from './files.js';
import type { BlkioEntry, CgroupStats, MemoryEntry } from './types.js';
import { emptyStats } from './types.js';

function numbers(s: string | undefined): number[] {
  return (s ?? '').trim().split(/\s+/).filter((x) => x !== '').map(Number);
}

function cpuacct(dir: string, out: CgroupStats): void {
  const u = out.cpu.usage;
  u.total = readNumber(dir, 'cpuacct.usage');
  u.percpu = numbers(readOptional(dir, 'cpuacct.usage_percpu'));
  u.percpuKernel = numbers(readOptional(dir, 'cpuacct.usage_percpu_sys'));
  u.percpuUser = numbers(readOptional(dir, 'cpuacct.usage_percpu_user'));
  const sys = readOptional(dir, 'cpuacct.usage_sys');
  if (sys !== undefined) {
    u.kernel = Number(sys.trim());
    u.user = readNumber(dir, 'cpuacct.usage_user');
  } else {
    // cpuacct.stat counts clock ticks (USER_HZ, 100 on Linux)
    const st = readKeyValues(dir, 'cpuacct.stat');
    u.kernel = (st.system ?? 0) * 1e7;
    u.user = (st.user ?? 0) * 1e7;
  }
}

function cpuThrottling(dir: string, out: CgroupStats): void {
  const st = readKeyValues(dir, 'cpu.stat');
  out.cpu.throttling = { periods: st.nr_periods ?? 0, throttledPeriods: st.nr_throttled ?? 0, throttledTime: st.throttled_time ?? 0 };
}

function memEntry(dir: string, prefix: string): MemoryEntry {
  return {
    usage: readNumber(dir, `${prefix}.usage_in_bytes`),
    max: readNumber(dir, `${prefix}.max_usage_in_bytes`),
    failcnt: readNumber(dir, `${prefix}.failcnt`),
    limit: readNumber(dir, `${prefix}.limit_in_bytes`),
  };
}

function memory(dir: string, out: CgroupStats): void {
  const raw = readKeyValues(dir, 'memory.stat');
  out.memory = {
    cache: raw.total_cache ?? raw.cache ?? 0,
    usage: memEntry(dir, 'memory'),
    swap: memEntry(dir, 'memory.memsw'),
    kernel: memEntry(dir, 'memory.kmem'),
    kernelTCP: memEntry(dir, 'memory.kmem.tcp'),
    raw,
  };
}

const blkioOps = new Set(['Read', 'Write', 'Sync', 'Async', 'Discard', 'Total']);

/** "8:0 Read 4096" lines; a "8:0 4096" line (sectors, time) has op "". */
export function parseBlkio(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(f[0] ?? '');
    if (!m) continue;
    const op = f.length === 3 && blkioOps.has(f[1] as string) ? (f[1] as string) : '';
    const value = Number(f[f.length - 1]);
    out.push({ major: Number(m[1]), minor: Number(m[2]), op, value });
  }
  return out;
}

function blkio(dir: string, out: CgroupStats): void {
  const b = out.blkio;
  // CFQ's recursive files when present, else the throttle layer's (always there).
  const cfq = readOptional(dir, 'blkio.io_service_bytes_recursive');
  if (cfq !== undefined && cfq.trim() !== '' && !/^Total 0\s*$/.test(cfq.trim())) {
    b.ioServiceBytesRecursive = parseBlkio(cfq);
    b.ioServicedRecursive = parseBlkio(readOptional(dir, 'blkio.io_serviced_recursive'));
    b.ioQueuedRecursive = parseBlkio(readOptional(dir, 'blkio.io_queued_recursive'));
    b.ioServiceTimeRecursive = parseBlkio(readOptional(dir, 'blkio.io_service_time_recursive'));
    b.ioWaitTimeRecursive = parseBlkio(readOptional(dir, 'blkio.io_wait_time_recursive'));
    b.ioMergedRecursive = parseBlkio(readOptional(dir, 'blkio.io_merged_recursive'));
    b.ioTimeRecursive = parseBlkio(readOptional(dir, 'blkio.time_recursive'));
    b.sectorsRecursive = parseBlkio(readOptional(dir, 'blkio.sectors_recursive'));
    return;
  }
  b.ioServiceBytesRecursive = parseBlkio(readOptional(dir, 'blkio.throttle.io_service_bytes_recursive'));
  b.ioServicedRecursive = parseBlkio(readOptional(dir, 'blkio.throttle.io_serviced_recursive'));
}

export function hugetlbStats(dir: string, suffixes: { usage: string; max: string; failcnt: string }, out: CgroupStats): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^hugetlb\.(\d+[KMG]B)\.(.+)$/.exec(n);
    if (!m || m[2] !== suffixes.usage) continue;
    const size = m[1] as string;
    out.hugetlb[size] = {
      usage: readNumber(dir, `hugetlb.${size}.${suffixes.usage}`),
      max: readNumber(dir, `hugetlb.${size}.${suffixes.max}`),
      failcnt: suffixes.failcnt.startsWith('events:')
        ? readKeyValues(dir, `hugetlb.${size}.events`)[suffixes.failcnt.slice(7)] ?? 0
        : readNumber(dir, `hugetlb.${size}.${suffixes.failcnt}`),
    };
  }
}

export function v1Stats(paths: Record<string, string>): CgroupStats {
  const out = emptyStats();
  if (paths.cpuacct) cpuacct(paths.cpuacct, out);
  if (paths.cpu) cpuThrottling(paths.cpu, out);
  if (paths.memory) memory(paths.memory, out);
  if (paths.pids) out.pids = { current: readNumber(paths.pids, 'pids.current'), limit: readNumber(paths.pids, 'pids.max') };
  if (paths.blkio) blkio(paths.blkio, out);
  if (paths.hugetlb) hugetlbStats(paths.hugetlb, { usage: 'usage_in_bytes', max: 'max_usage_in_bytes', failcnt: 'failcnt' }, out);
  return out;
}
