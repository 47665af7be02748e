/**
 * HostConfig and Config values dockerd refuses at create (and update) with
 * a 400, checked here before anything is made, with dockerd's messages:
 * scripts grep them, and a value the kernel refuses later would otherwise
 * surface as a failed start (or, for a negative CPU count, not at all).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { invalidArgument } from '../../common/errors.js';
import { parseSignal } from '../containers/signals.js';
import type { DockerHostConfig } from '../containers/types.js';

/** The CPUs this host offers: their count and the online list ("0-1"). */
export interface HostCpus { count: number; online: string }

export function hostCpus(): HostCpus {
  let online = '';
  try { online = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim(); } catch { /* not Linux sysfs */ }
  const count = availableParallelism();
  return { count, online: online || `0-${count - 1}` };
}

/** A cpuset list ("0-2,5") as its CPU numbers; undefined when it is not one. */
export function parseCpuList(text: string): Set<number> | undefined {
  const out = new Set<number>();
  if (text === '') return out;
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

const IPC_MODES = ['', 'none', 'private', 'shareable', 'host'];

/** Throws dockerd's invalid-argument for a resource value it would refuse. */
export function validateResources(h: DockerHostConfig, cpus: HostCpus = hostCpus()): void {
  const nano = h.NanoCpus ?? 0;
  if (nano !== 0 && (nano < 1e7 || nano > cpus.count * 1e9)) {
    throw invalidArgument(`Range of CPUs is from 0.01 to ${cpus.count}.00, as there are only ${cpus.count} CPUs available`);
  }
  if ((h.CpuShares ?? 0) < 0) throw invalidArgument('shares: invalid argument');
  for (const [field, text] of [['cpus', h.CpusetCpus], ['mems', h.CpusetMems]] as const) {
    if (!text) continue;
    const wanted = parseCpuList(text);
    if (!wanted) throw invalidArgument(`Invalid value ${text} for cpuset ${field}: invalid format: ${text}`);
    if (field === 'cpus') {
      const online = parseCpuList(cpus.online) ?? new Set<number>();
      if ([...wanted].some((n) => !online.has(n))) throw invalidArgument(`Requested CPUs are not available - requested ${text}, available: ${cpus.online}`);
    }
  }
  const mem = h.Memory ?? 0;
  const reservation = h.MemoryReservation ?? 0;
  if (mem > 0 && reservation > 0 && mem < reservation) {
    throw invalidArgument('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
}

/** Throws dockerd's invalid-argument for a create's values outside the resources. */
export function validateCreate(h: DockerHostConfig, config: { StopSignal?: string }, cpus?: HostCpus): void {
  validateResources(h, cpus);
  const oom = h.OomScoreAdj ?? 0;
  if (oom < -1000 || oom > 1000) throw invalidArgument(`Invalid value ${oom}, range for oom score adj is [-1000, 1000]`);
  const ipc = h.IpcMode ?? '';
  if (!IPC_MODES.includes(ipc) && !ipc.startsWith('container:')) throw invalidArgument(`Invalid IPC mode: ${ipc}`);
  if (config.StopSignal) parseSignal(config.StopSignal);
}
