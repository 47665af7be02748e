/**
 * CgroupStats in the exact JSON shape of the "data" of `runc events --stats`
 * (checked against runc 1.1.5 on this machine): snake_case per-cpu keys,
 * zero values left out where runc leaves them out (Go's omitempty), the
 * entries runc always prints kept.
 */
import type { BlkioEntry, CgroupStats, MemoryEntry } from './types.js';

type Json = Record<string, unknown>;

/** Drops the keys whose value is 0, an empty array or undefined (omitempty). */
function omitEmpty(o: Json, keep: string[] = []): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    const empty = v === undefined || v === 0 || v === '' || (Array.isArray(v) && v.length === 0);
    if (!empty || keep.includes(k)) out[k] = v;
  }
  return out;
}

const memEntry = (e: MemoryEntry): Json => omitEmpty({ limit: e.limit, usage: e.usage, max: e.max, failcnt: e.failcnt }, ['limit', 'failcnt']);
const blkioList = (l: BlkioEntry[]): Json[] => l.map((e) => omitEmpty({ major: e.major, minor: e.minor, op: e.op, value: e.value }));

export function toRuncStatsJson(s: CgroupStats): Json {
  const u = s.cpu.usage;
  const hugetlb: Json = {};
  for (const [size, h] of Object.entries(s.hugetlb)) hugetlb[size] = omitEmpty({ usage: h.usage, max: h.max, failcnt: h.failcnt }, ['failcnt']);
  const raw = Object.keys(s.memory.raw).length > 0 ? s.memory.raw : undefined;
  return {
    cpu: {
      usage: omitEmpty({ total: u.total, percpu: u.percpu, percpu_kernel: u.percpuKernel, percpu_user: u.percpuUser, kernel: u.kernel, user: u.user }, ['kernel', 'user']),
      throttling: omitEmpty({ periods: s.cpu.throttling.periods, throttledPeriods: s.cpu.throttling.throttledPeriods, throttledTime: s.cpu.throttling.throttledTime }),
    },
    memory: omitEmpty({
      cache: s.memory.cache,
      usage: memEntry(s.memory.usage),
      swap: memEntry(s.memory.swap),
      kernel: memEntry(s.memory.kernel),
      kernelTCP: memEntry(s.memory.kernelTCP),
      raw,
    }),
    pids: omitEmpty({ current: s.pids.current, limit: s.pids.limit }),
    blkio: omitEmpty({
      ioServiceBytesRecursive: blkioList(s.blkio.ioServiceBytesRecursive),
      ioServicedRecursive: blkioList(s.blkio.ioServicedRecursive),
      ioQueueRecursive: blkioList(s.blkio.ioQueuedRecursive),
      ioServiceTimeRecursive: blkioList(s.blkio.ioServiceTimeRecursive),
      ioWaitTimeRecursive: blkioList(s.blkio.ioWaitTimeRecursive),
      ioMergedRecursive: blkioList(s.blkio.ioMergedRecursive),
      ioTimeRecursive: blkioList(s.blkio.ioTimeRecursive),
      sectorsRecursive: blkioList(s.blkio.sectorsRecursive),
    }),
    hugetlb,
    intel_rdt: {},
    network_interfaces: null,
  };
}
