/**
 * Samples for `docker stats`: the core's metrics of the task (its cgroup,
 * v1 or v2, as the runtime reads it), the host's cpu time and memory, and
 * the container's network counters from /proc/<pid>/net/dev (the file
 * shows the reading process's network namespace: the container's init).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { CoreClient } from '../../core/client.js';
import { parseMemTotal, parseNetDev, parseProcStat, type HostSample, type StatsSample } from './convert.js';

function readOr(path: string, dflt: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return dflt; }
}

export function hostSample(): HostSample {
  return { systemCpuNs: parseProcStat(readOr('/proc/stat', '')), onlineCpus: cpus().length, memTotal: parseMemTotal(readOr('/proc/meminfo', '')) };
}

/** One sample of a running container (pid: its init on the host). */
export async function sample(core: CoreClient, id: string, pid: number): Promise<StatsSample> {
  const { metrics } = await core.tasks.Metrics({ filters: [`id==${id}`] });
  const m = metrics.find((x) => x.id === id) ?? metrics[0];
  let data: Record<string, unknown> = {};
  if (m) {
    try { data = JSON.parse(m.data.toString('utf8')) as Record<string, unknown>; } catch { /* an unreadable sample counts as empty */ }
  }
  const net = pid > 0 ? readOr(`/proc/${pid}/net/dev`, '') : '';
  return { read: new Date().toISOString(), metrics: data, host: hostSample(), networks: net === '' ? undefined : parseNetDev(net) };
}
