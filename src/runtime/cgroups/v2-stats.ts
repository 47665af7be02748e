/**
 * Statistics from cgroup v2 files, mapped onto the v1-shaped CgroupStats
 * (the shape `runc events --stats` prints on either version).
 */
import { readKeyValues, readNumber, readOptional } from './files.js';
import type { BlkioEntry, CgroupStats } from './types.js';
import { emptyStats } from './types.js';
import { hugetlbStats } from './v1-stats.js';

/** io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" → v1-style entries. */
export function parseIoStat(text: string | undefined): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(f[0] ?? '');
    if (!m) continue;
    const major = Number(m[1]), minor = Number(m[2]);
    const kv: Record<string, number> = {};
    for (const p of f.slice(1)) {
      const [k, v] = p.split('=');
      if (k && v !== undefined) kv[k] = Number(v);
    }
    const push = (list: BlkioEntry[], op: string, key: string): void => {
      if (kv[key] !== undefined) list.push({ major, minor, op, value: kv[key] as number });
    };
    push(bytes, 'Read', 'rbytes');
    push(bytes, 'Write', 'wbytes');
    push(bytes, 'Discard', 'dbytes');
    push(ios, 'Read', 'rios');
    push(ios, 'Write', 'wios');
    push(ios, 'Discard', 'dios');
  }
  return { bytes, ios };
}

export function v2Stats(dir: string): CgroupStats {
  const out = emptyStats();
  const cpu = readKeyValues(dir, 'cpu.stat');
  const us = (k: string): number => (cpu[k] ?? 0) * 1000;
  out.cpu.usage.total = us('usage_usec');
  out.cpu.usage.user = us('user_usec');
  out.cpu.usage.kernel = us('system_usec');
  out.cpu.throttling = { periods: cpu.nr_periods ?? 0, throttledPeriods: cpu.nr_throttled ?? 0, throttledTime: us('throttled_usec') };

  const raw = readKeyValues(dir, 'memory.stat');
  const events = readKeyValues(dir, 'memory.events');
  out.memory.raw = raw;
  out.memory.cache = raw.file ?? 0;
  out.memory.usage = {
    usage: readNumber(dir, 'memory.current'),
    max: readNumber(dir, 'memory.peak'),
    limit: readNumber(dir, 'memory.max'),
    failcnt: events.max ?? 0,
  };
  if (readOptional(dir, 'memory.swap.current') !== undefined) {
    // v1's swap entry is memory+swap; keep that meaning
    out.memory.swap = {
      usage: readNumber(dir, 'memory.swap.current') + out.memory.usage.usage,
      max: readNumber(dir, 'memory.swap.peak'),
      limit: readNumber(dir, 'memory.swap.max'),
      failcnt: readKeyValues(dir, 'memory.swap.events').max ?? 0,
    };
  }
  out.pids = { current: readNumber(dir, 'pids.current'), limit: readNumber(dir, 'pids.max') };
  const io = parseIoStat(readOptional(dir, 'io.stat'));
  out.blkio.ioServiceBytesRecursive = io.bytes;
  out.blkio.ioServicedRecursive = io.ios;
  hugetlbStats(dir, { usage: 'current', max: 'peak', failcnt: 'events:max' }, out);
  return out;
}
