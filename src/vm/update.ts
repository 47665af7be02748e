/**
 * `update`: new limits for a running VM container, as engines send them
 * (`--resources -` with LinuxResources JSON, or runc's flags). What bounds
 * the VM from outside changes at once in its host cgroup: CPU shares, quota
 * and cpuset, block I/O weight. The VM's size does not: a limit that would
 * give the guest other RAM is refused (the guest has no memory hotplug or
 * balloon here), and a new quota bounds the VM's CPU time while the guest
 * keeps the vCPUs it booted with.
 */
import { readFileSync } from 'node:fs';
import { failedPrecondition, invalidArgument } from '../common/errors.js';
import { fromPaths, type LinuxResources } from '../runtime/cgroups/index.js';
import type { Spec } from '../runtime/spec/types.js';
import { storeOf } from './commands.js';
import { loadVmConfig } from './config.js';
import { callerPath, type VmContext } from './context.js';
import { vmSize } from './create.js';
import { hasMemoryLimit, hostResources } from './limits.js';

export interface UpdateFlags {
  resources?: string;
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpuShare?: string;
  cpuShares?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpuBurst?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: string;
  blkioWeight?: string;
}

function num(name: string, v: string | undefined, bytes = false): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(-?\d+)([kmgKMG]?)[bB]?$/.exec(v.trim());
  if (!m || (!bytes && m[2])) throw invalidArgument(`invalid value "${v}" for --${name}`);
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g']);
}

/** runc's update flags as LinuxResources (only the groups given). */
export function resourcesFromFlags(o: UpdateFlags): LinuxResources {
  const groups: Record<string, Record<string, unknown>> = {
    memory: { limit: num('memory', o.memory, true), swap: num('memory-swap', o.memorySwap, true), reservation: num('memory-reservation', o.memoryReservation, true) },
    cpu: {
      shares: num('cpu-share', o.cpuShare ?? o.cpuShares), quota: num('cpu-quota', o.cpuQuota), period: num('cpu-period', o.cpuPeriod),
      burst: num('cpu-burst', o.cpuBurst), cpus: o.cpusetCpus, mems: o.cpusetMems,
    },
    pids: { limit: num('pids-limit', o.pidsLimit) },
    blockIO: { weight: num('blkio-weight', o.blkioWeight) },
  };
  const out: Record<string, unknown> = {};
  for (const [g, fields] of Object.entries(groups)) {
    const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    if (Object.keys(set).length) out[g] = set;
  }
  return out as LinuxResources;
}

/** The spec's resources with the update laid over them, group by group. */
export function mergeResources(old: Spec, update: LinuxResources): Spec {
  const merged: Record<string, unknown> = { ...(old.linux?.resources ?? {}) };
  for (const [k, v] of Object.entries(update)) {
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) ? { ...(merged[k] as object ?? {}), ...v } : v;
  }
  return { ...old, linux: { ...old.linux, resources: merged as NonNullable<Spec['linux']>['resources'] } };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function update(ctx: VmContext, id: string, o: UpdateFlags): Promise<number> {
  const store = storeOf(ctx);
  const rec = store.load(id);
  if (!rec.cgroup) throw failedPrecondition(`cannot update container ${id}: it has no cgroup`);
  let res: LinuxResources;
  if (o.resources) {
    const text = o.resources === '-' ? await readStdin() : readFileSync(callerPath(ctx, o.resources), 'utf8');
    try { res = JSON.parse(text) as LinuxResources; } catch (err) {
      throw invalidArgument(`cannot update container ${id}: --resources is not valid JSON: ${(err as Error).message}`);
    }
  } else {
    res = resourcesFromFlags(o);
  }
  const cfg = loadVmConfig(ctx.env);
  const next = mergeResources(rec.config, res);
  const before = vmSize(rec.config, cfg.memoryMiB).memoryMiB, after = vmSize(next, cfg.memoryMiB).memoryMiB;
  // a VM created without a limit has an unbounded TCG translation buffer: a host limit could kill its qemu
  if (before !== after || (hasMemoryLimit(next) && !hasMemoryLimit(rec.config))) {
    throw failedPrecondition(`cannot update container ${id}: its vm has ${before} MiB of guest memory, fixed at create (asked for ${after} MiB)`);
  }
  fromPaths(rec.cgroup.paths, ctx.log).apply(hostResources(next, before, cfg.memoryOverheadMiB));
  rec.config = next;
  store.save(rec);
  return 0;
}
