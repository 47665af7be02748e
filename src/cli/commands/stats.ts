/**
 * `stats`: docker's table of CPU %, memory, network, block I/O and PIDs,
 * computed from the Engine API's stats JSON as the docker CLI computes them,
 * once (--no-stream) or refreshed every second.
 */
import { CliError, help, type CliContext, type CommandSpec } from '../command.js';
import { Context, type ContainerSummary, type Getter } from '../format/contexts.js';
import { renderList } from '../format/render.js';
import { bytesSize, humanSize, shortId } from '../format/units.js';

/** The parts of the stats JSON the table uses. */
export interface StatsJson {
  id?: string; name?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }> | null;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  pids_stats?: { current?: number };
}

export interface StatsRow {
  container: string; id: string; name: string; cpu: number; mem: number; memLimit: number; memPercent: number;
  netRx: number; netTx: number; blockRead: number; blockWrite: number; pids: number;
}

/** docker's calculateCPUPercentUnix: the container's share of the host's CPU time since the previous sample, times the CPUs. */
export function cpuPercent(s: StatsJson): number {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
}

/** Memory in use without the page cache that can be dropped (cgroup v1 total_inactive_file, v2 inactive_file). */
export function memoryUsage(s: StatsJson): number {
  const usage = s.memory_stats?.usage ?? 0;
  const st = s.memory_stats?.stats ?? {};
  const cache = st.total_inactive_file !== undefined ? st.total_inactive_file : st.inactive_file ?? 0;
  return cache < usage ? usage - cache : usage;
}

export function statsRow(container: string, s: StatsJson): StatsRow {
  const mem = memoryUsage(s);
  const limit = s.memory_stats?.limit ?? 0;
  let rx = 0; let tx = 0;
  for (const n of Object.values(s.networks ?? {})) { rx += n.rx_bytes; tx += n.tx_bytes; }
  let read = 0; let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (e.op.toLowerCase() === 'read') read += e.value;
    else if (e.op.toLowerCase() === 'write') write += e.value;
  }
  return {
    container, id: s.id ?? '', name: (s.name ?? '').replace(/^\//, ''), cpu: cpuPercent(s), mem, memLimit: limit,
    memPercent: limit !== 0 ? (mem / limit) * 100 : 0, netRx: rx, netTx: tx, blockRead: read, blockWrite: write, pids: s.pids_stats?.current ?? 0,
  };
}

export const STATS_HEADERS: Record<string, string> = {
  Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %',
  NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
};
export const DEFAULT_STATS_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export class StatsContext extends Context {
  readonly goTypeName = '*formatter.statsContext';
  constructor(private readonly r: StatsRow, private readonly trunc: boolean) { super(); }
  protected getters(): Record<string, Getter> {
    const r = this.r;
    return {
      BlockIO: () => `${humanSize(r.blockRead)} / ${humanSize(r.blockWrite)}`, CPUPerc: () => `${r.cpu.toFixed(2)}%`, Container: () => r.container,
      ID: () => (this.trunc ? shortId(r.id) : r.id), MemPerc: () => `${r.memPercent.toFixed(2)}%`,
      MemUsage: () => `${bytesSize(r.mem)} / ${bytesSize(r.memLimit)}`, Name: () => r.name || '--',
      NetIO: () => `${humanSize(r.netRx)} / ${humanSize(r.netTx)}`, PIDs: () => String(r.pids),
    };
  }
}

async function sample(ctx: CliContext, container: string): Promise<StatsRow> {
  const s = await ctx.client().json<StatsJson>('GET', `/containers/${encodeURIComponent(container)}/stats`, { query: { stream: 'false' } });
  return statsRow(container, s);
}

async function targets(ctx: CliContext, names: string[], all: boolean): Promise<string[]> {
  if (names.length > 0) return names;
  const list = await ctx.client().json<ContainerSummary[]>('GET', '/containers/json', { query: { all: all ? 1 : undefined } });
  return list.map((c) => shortId(c.Id));
}

export const statsCommand: CommandSpec = {
  names: ['stats', 'container stats'], usage: 'stats [OPTIONS] [CONTAINER...]', summary: 'Display a live stream of container(s) resource usage statistics',
  flags: [{ name: 'all', short: 'a', type: 'bool' }, { name: 'no-stream', type: 'bool' }, { name: 'no-trunc', type: 'bool' }, { name: 'format', type: 'string' }, help()],
  async run(ctx, o) {
    const render = async (): Promise<string> => {
      const names = await targets(ctx, o.args, o.bool('all'));
      const rows = await Promise.all(names.map(async (n) => {
        try { return await sample(ctx, n); } catch (e) {
          if (o.args.length > 0) throw new CliError(`Error response from daemon: ${(e as Error).message}`);
          return undefined; // a container gone between the list and its sample
        }
      }));
      const present = rows.filter((r): r is StatsRow => r !== undefined);
      return renderList({ format: o.str('format'), defaultTable: DEFAULT_STATS_TABLE, headers: STATS_HEADERS }, present.map((r) => new StatsContext(r, !o.bool('no-trunc'))));
    };
    if (o.bool('no-stream')) { ctx.out(await render()); return 0; }
    for (;;) {
      const text = await render();
      // docker clears the screen between refreshes on a terminal
      ctx.out(process.stdout.isTTY ? `\x1b[2J\x1b[H${text}` : text);
      await new Promise((r) => setTimeout(r, 500));
    }
  },
};
