/**
 * Per-object details: `diff` (a container's filesystem changes), `port`
 * (its published ports), `update` (its resources and restart policy) and
 * `history` (an image's layers).
 */
import { CliError, forEachTarget, help, type CommandSpec } from '../command.js';
import { Context, type Getter } from '../format/contexts.js';
import { renderList } from '../format/render.js';
import { ago, ellipsis, humanSize, parseBytes, shortId } from '../format/units.js';

const enc = encodeURIComponent;

const diff: CommandSpec = {
  names: ['diff', 'container diff'], usage: 'diff CONTAINER', summary: "Inspect changes to files or directories on a container's filesystem",
  minArgs: 1, maxArgs: 1, flags: [help()],
  async run(ctx, o) {
    const changes = await ctx.client().json<{ Path: string; Kind: number }[] | null>('GET', `/containers/${enc(o.args[0]!)}/changes`);
    ctx.out((changes ?? []).map((c) => `${['C', 'A', 'D'][c.Kind] ?? '?'} ${c.Path}\n`).join(''));
    return 0;
  },
};

type PortMap = Record<string, { HostIp: string; HostPort: string }[] | null>;

/** "80/tcp -> 0.0.0.0:32768" lines, ordered by port then protocol as docker orders them. */
export function portLines(ports: PortMap, filter?: string): string[] {
  const want = filter === undefined ? undefined : filter.includes('/') ? filter : `${filter}/tcp`;
  const keys = Object.keys(ports).sort((a, b) => {
    const [pa, qa] = a.split('/'); const [pb, qb] = b.split('/');
    return (Number(pa) - Number(pb)) || (qa! < qb! ? -1 : qa! > qb! ? 1 : 0);
  });
  const lines: string[] = [];
  for (const k of keys) {
    if (want !== undefined && k !== want) continue;
    for (const b of ports[k] ?? []) {
      const host = b.HostIp.includes(':') ? `[${b.HostIp}]:${b.HostPort}` : `${b.HostIp || '0.0.0.0'}:${b.HostPort}`;
      lines.push(want !== undefined ? host : `${k} -> ${host}`);
    }
  }
  return lines;
}

const port: CommandSpec = {
  names: ['port', 'container port'], usage: 'port CONTAINER [PRIVATE_PORT[/PROTO]]', summary: 'List port mappings or a specific mapping for the container',
  minArgs: 1, maxArgs: 2, flags: [help()],
  async run(ctx, o) {
    const [name, filter] = o.args;
    const c = await ctx.client().json<{ NetworkSettings?: { Ports?: PortMap | null } }>('GET', `/containers/${enc(name!)}/json`);
    const lines = portLines(c.NetworkSettings?.Ports ?? {}, filter);
    if (filter !== undefined && lines.length === 0) throw new CliError(`Error: No public port '${filter}' published for ${name}`);
    ctx.out(lines.map((l) => `${l}\n`).join(''));
    return 0;
  },
};

/** A byte-size flag of `update`, as the API wants it (-1 stays -1: unlimited swap). */
function sizeFlag(text: string, flag: string): number {
  if (text === '-1') return -1;
  const n = parseBytes(text);
  if (n === undefined) throw new CliError(`invalid argument "${text}" for "--${flag}" flag: invalid size: '${text}'`);
  return n;
}

const update: CommandSpec = {
  names: ['update', 'container update'], usage: 'update [OPTIONS] CONTAINER [CONTAINER...]', summary: 'Update configuration of one or more containers', minArgs: 1,
  flags: [
    { name: 'blkio-weight', type: 'int' }, { name: 'cpu-period', type: 'int' }, { name: 'cpu-quota', type: 'int' }, { name: 'cpu-rt-period', type: 'int' },
    { name: 'cpu-rt-runtime', type: 'int' }, { name: 'cpu-shares', short: 'c', type: 'int' }, { name: 'cpus', type: 'string' },
    { name: 'cpuset-cpus', type: 'string' }, { name: 'cpuset-mems', type: 'string' }, { name: 'memory', short: 'm', type: 'string' },
    { name: 'memory-reservation', type: 'string' }, { name: 'memory-swap', type: 'string' }, { name: 'kernel-memory', type: 'string' },
    { name: 'pids-limit', type: 'int' }, { name: 'restart', type: 'string' }, help(),
  ],
  async run(ctx, o) {
    const body: Record<string, unknown> = {};
    const ints: [string, string][] = [['blkio-weight', 'BlkioWeight'], ['cpu-period', 'CpuPeriod'], ['cpu-quota', 'CpuQuota'], ['cpu-rt-period', 'CpuRealtimePeriod'],
      ['cpu-rt-runtime', 'CpuRealtimeRuntime'], ['cpu-shares', 'CpuShares'], ['pids-limit', 'PidsLimit']];
    for (const [flag, field] of ints) if (o.has(flag)) body[field] = o.int(flag);
    const sizes: [string, string][] = [['memory', 'Memory'], ['memory-reservation', 'MemoryReservation'], ['memory-swap', 'MemorySwap'], ['kernel-memory', 'KernelMemory']];
    for (const [flag, field] of sizes) if (o.has(flag)) body[field] = sizeFlag(o.str(flag), flag);
    if (o.has('cpus')) {
      const cpus = Number(o.str('cpus'));
      if (!Number.isFinite(cpus)) throw new CliError(`invalid argument "${o.str('cpus')}" for "--cpus" flag: failed to parse ${o.str('cpus')} as a rational number`);
      body.NanoCpus = Math.round(cpus * 1e9);
    }
    if (o.has('cpuset-cpus')) body.CpusetCpus = o.str('cpuset-cpus');
    if (o.has('cpuset-mems')) body.CpusetMems = o.str('cpuset-mems');
    if (o.has('restart')) {
      const [policy, max] = o.str('restart').split(':');
      body.RestartPolicy = { Name: policy, ...(max ? { MaximumRetryCount: Number(max) } : {}) };
    }
    if (Object.keys(body).length === 0) throw new CliError('you must provide one or more flags when using this command');
    return forEachTarget(ctx, o.args, async (t) => {
      const r = await ctx.client().json<{ Warnings?: string[] | null }>('POST', `/containers/${enc(t)}/update`, { body });
      for (const w of r?.Warnings ?? []) ctx.err(`${w}\n`);
      return t;
    });
  },
};

interface HistoryItem { Id: string; Created: number; CreatedBy: string; Tags?: string[] | null; Size: number; Comment: string }

class HistoryContext extends Context {
  readonly goTypeName = '*formatter.historyContext';
  constructor(private readonly h: HistoryItem, private readonly trunc: boolean, private readonly human: boolean, private readonly now: number) { super(); }
  protected getters(): Record<string, Getter> {
    const h = this.h;
    const rfc3339 = new Date(h.Created * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return {
      ID: () => (h.Id === '<missing>' ? h.Id : this.trunc ? shortId(h.Id) : h.Id),
      CreatedSince: () => (this.human ? ago(h.Created, this.now) : rfc3339),
      CreatedAt: () => rfc3339,
      CreatedBy: () => { const by = h.CreatedBy.replace(/\t/g, ' '); return this.trunc ? ellipsis(by, 45) : by; },
      Size: () => (this.human ? humanSize(h.Size) : String(h.Size)),
      Comment: () => h.Comment,
    };
  }
}

const history: CommandSpec = {
  names: ['history', 'image history'], usage: 'history [OPTIONS] IMAGE', summary: 'Show the history of an image', minArgs: 1, maxArgs: 1,
  flags: [{ name: 'human', short: 'H', type: 'bool', def: true }, { name: 'no-trunc', type: 'bool' }, { name: 'quiet', short: 'q', type: 'bool' },
    { name: 'format', type: 'string' }, { name: 'platform', type: 'string' }, help()],
  async run(ctx, o) {
    const items = await ctx.client().json<HistoryItem[]>('GET', `/images/${enc(o.args[0]!)}/history`);
    const format = o.str('format');
    const now = Date.now();
    ctx.out(renderList({
      format, quiet: o.bool('quiet') && (format === '' || format === 'table'),
      defaultTable: 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
      headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' },
    }, items.map((h) => new HistoryContext(h, !o.bool('no-trunc'), o.bool('human'), now))));
    return 0;
  },
};

export const detailCommands: CommandSpec[] = [diff, port, update, history];
