/**
 * The core's task metrics (the runtime's `events --stats` data: runc's
 * JSON shape, cgroup v1 or v2) turned into Docker's stats document, the
 * one `docker stats` reads: cpu_stats/precpu_stats, memory_stats (with the
 * raw cgroup counters under `stats`, where the CLI finds cache and
 * inactive_file), pids_stats, blkio_stats, networks.
 */

type Json = Record<string, unknown>;

export interface HostSample {
  /** /proc/stat's total of the cpu line, in nanoseconds */
  systemCpuNs: number;
  onlineCpus: number;
  /** total memory of the host: the limit shown when the container has none */
  memTotal: number;
}

export interface NetDev { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }

export interface StatsSample {
  /** RFC 3339 of the sample */
  read: string;
  /** the runtime's stats data (or the whole `{"type":"stats","data":…}` event) */
  metrics: Json;
  host: HostSample;
  networks: Record<string, NetDev> | undefined;
}

export const ZERO_READ = '0001-01-01T00:00:00Z';

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Json : {});
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const nums = (v: unknown): number[] => (Array.isArray(v) ? v.map(num) : []);

/** The stats data out of a metrics blob: `data` of a runtime event, or the blob itself. */
export function metricsData(raw: Json): Json {
  return raw.type === 'stats' && raw.data !== undefined ? obj(raw.data) : raw;
}

function cpuStats(m: Json, host: HostSample): Json {
  const cpu = obj(m.cpu);
  const u = obj(cpu.usage);
  const t = obj(cpu.throttling);
  const percpu = nums(u.percpu);
  return {
    cpu_usage: {
      total_usage: num(u.total),
      ...(percpu.length > 0 ? { percpu_usage: percpu } : {}),
      usage_in_kernelmode: num(u.kernel),
      usage_in_usermode: num(u.user),
    },
    system_cpu_usage: host.systemCpuNs,
    online_cpus: host.onlineCpus,
    throttling_data: { periods: num(t.periods), throttled_periods: num(t.throttledPeriods), throttled_time: num(t.throttledTime) },
  };
}

/** A limit the cgroup does not really set (unlimited: a huge number, or 0 on v2's "max") shows as the host's memory. */
function effectiveLimit(limit: number, host: HostSample): number {
  return limit <= 0 || limit >= host.memTotal ? host.memTotal : limit;
}

function memoryStats(m: Json, host: HostSample): Json {
  const mem = obj(m.memory);
  const usage = obj(mem.usage);
  const raw = obj(mem.raw);
  const stats: Json = {};
  for (const [k, v] of Object.entries(raw)) stats[k] = num(v);
  const out: Json = { usage: num(usage.usage), stats, limit: effectiveLimit(num(usage.limit), host) };
  // v1 has a high-water mark and a failure count; v2 has neither in Docker's document
  if ('total_inactive_file' in raw || 'hierarchical_memory_limit' in raw) {
    out.max_usage = num(usage.max);
    out.failcnt = num(usage.failcnt);
  }
  return out;
}

function blkioList(v: unknown): Json[] | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  // Docker capitalizes the op (v1's "Read", "Write", "Sync", "Async", "Total")
  return v.map((e) => {
    const o = obj(e);
    const op = typeof o.op === 'string' ? o.op : '';
    return { major: num(o.major), minor: num(o.minor), op: op.charAt(0).toUpperCase() + op.slice(1), value: num(o.value) };
  });
}

function blkioStats(m: Json): Json {
  const b = obj(m.blkio);
  return {
    io_service_bytes_recursive: blkioList(b.ioServiceBytesRecursive),
    io_serviced_recursive: blkioList(b.ioServicedRecursive),
    io_queue_recursive: blkioList(b.ioQueueRecursive),
    io_service_time_recursive: blkioList(b.ioServiceTimeRecursive),
    io_wait_time_recursive: blkioList(b.ioWaitTimeRecursive),
    io_merged_recursive: blkioList(b.ioMergedRecursive),
    io_time_recursive: blkioList(b.ioTimeRecursive),
    sectors_recursive: blkioList(b.sectorsRecursive),
  };
}

/** The empty cpu block Docker sends as precpu_stats of a first sample. */
export function emptyCpuStats(): Json {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

/** Docker's stats document of `cur`, with `prev` (the sample before, if any) as precpu. */
export function statsDocument(id: string, name: string, cur: StatsSample, prev: StatsSample | undefined): Json {
  const m = metricsData(cur.metrics);
  const pids = obj(m.pids);
  const doc: Json = {
    read: cur.read,
    preread: prev?.read ?? ZERO_READ,
    pids_stats: { current: num(pids.current), ...(num(pids.limit) > 0 ? { limit: num(pids.limit) } : {}) },
    blkio_stats: blkioStats(m),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(m, cur.host),
    precpu_stats: prev ? cpuStats(metricsData(prev.metrics), prev.host) : emptyCpuStats(),
    memory_stats: memoryStats(m, cur.host),
    name,
    id,
  };
  if (cur.networks !== undefined) doc.networks = cur.networks;
  return doc;
}

/** /proc/stat's cpu line → nanoseconds (USER_HZ is 100 on Linux). */
export function parseProcStat(text: string, userHz = 100): number {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).map(Number).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  return Math.round((ticks / userHz) * 1e9);
}

/** /proc/<pid>/net/dev → Docker's networks map (the loopback left out, as Docker does). */
export function parseNetDev(text: string): Record<string, NetDev> {
  const out: Record<string, NetDev> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo' || name === '') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    out[name] = {
      rx_bytes: f[0] ?? 0, rx_packets: f[1] ?? 0, rx_errors: f[2] ?? 0, rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0, tx_packets: f[9] ?? 0, tx_errors: f[10] ?? 0, tx_dropped: f[11] ?? 0,
    };
  }
  return out;
}

/** MemTotal of /proc/meminfo in bytes. */
export function parseMemTotal(text: string): number {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}
