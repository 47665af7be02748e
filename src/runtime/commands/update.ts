/** `update`: change the resource limits of a running container (a LinuxResources file or flags). */
import { readFileSync } from 'node:fs';
import type { CommandContext } from './context.js';
import { callerPath } from './context.js';
import { cgroupOf, storeOf } from '../lifecycle.js';
import { failedPrecondition, invalidArgument } from '../../common/errors.js';
import type { LinuxResources } from '../cgroups/index.js';

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalidArgument(`invalid value "${v}" for --${name}`);
  return n;
}

/** Bytes as runc accepts them: a number, or with a k/m/g suffix. */
function bytes(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(-?\d+)([kmgKMG]?)[bB]?$/.exec(v.trim());
  if (!m) throw invalidArgument(`invalid value "${v}" for --${name}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult;
}

function fromFlags(o: Record<string, string | undefined>): LinuxResources {
  const r: Record<string, Record<string, unknown>> = { memory: {}, cpu: {}, pids: {}, blockIO: {} };
  const set = (group: string, key: string, v: unknown): void => { if (v !== undefined) r[group]![key] = v; };
  set('memory', 'limit', bytes('memory', o.memory));
  set('memory', 'swap', bytes('memory-swap', o.memorySwap));
  set('memory', 'reservation', bytes('memory-reservation', o.memoryReservation));
  set('memory', 'kernel', bytes('kernel-memory', o.kernelMemory));
  set('memory', 'kernelTCP', bytes('kernel-memory-tcp', o.kernelMemoryTcp));
  set('cpu', 'shares', num('cpu-share', o.cpuShare ?? o.cpuShares));
  set('cpu', 'quota', num('cpu-quota', o.cpuQuota));
  set('cpu', 'period', num('cpu-period', o.cpuPeriod));
  set('cpu', 'burst', num('cpu-burst', o.cpuBurst));
  set('cpu', 'realtimePeriod', num('cpu-rt-period', o.cpuRtPeriod));
  set('cpu', 'realtimeRuntime', num('cpu-rt-runtime', o.cpuRtRuntime));
  set('cpu', 'cpus', o.cpusetCpus);
  set('cpu', 'mems', o.cpusetMems);
  set('cpu', 'idle', num('cpu-idle', o.cpuIdle));
  set('pids', 'limit', num('pids-limit', o.pidsLimit));
  set('blockIO', 'weight', num('blkio-weight', o.blkioWeight));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (Object.keys(v).length) out[k] = v;
  return out as LinuxResources;
}

export async function run(ctx: CommandContext, id: string, o: Record<string, string | undefined>): Promise<number> {
  const store = storeOf(ctx);
  const rec = store.load(id);
  const cg = cgroupOf(rec, ctx.log);
  if (!cg) throw failedPrecondition(`container ${id} has no cgroup`);
  let res: LinuxResources;
  if (o.resources) {
    const text = o.resources === '-' ? (await ctx.readStdin()).toString() : readFileSync(callerPath(ctx, o.resources), 'utf8');
    try { res = JSON.parse(text) as LinuxResources; } catch (err) {
      throw invalidArgument(`--resources: not valid JSON: ${(err as Error).message}`);
    }
  } else {
    res = fromFlags(o);
  }
  cg.apply(res);
  const linux = (rec.config.linux ??= {});
  const merged: Record<string, unknown> = { ...(linux.resources ?? {}) };
  for (const [k, v] of Object.entries(res)) {
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) ? { ...(merged[k] as object ?? {}), ...v } : v;
  }
  linux.resources = merged as typeof linux.resources;
  store.save(rec);
  return 0;
}
