/**
 * A container's resources, mapped onto its VM. Inside, the limits are the
 * VM's size (memory → guest RAM, cpus → vCPUs: create.ts's vmSize). Outside,
 * the host cgroup that holds qemu, virtiofsd and the keeper gets what bounds
 * a VM as a whole: the CPU time (shares, quota, cpuset), the block I/O
 * weight, and a memory limit of the guest's RAM plus the VM's own overhead
 * (a limit of the guest's RAM alone would kill qemu at the first page of its
 * own). What means something only per guest process (pids, devices,
 * hugetlb, network classes) stays out: on the host those would count qemu's
 * threads and deny qemu its own devices (/dev/kvm, /dev/net/tun).
 */
import type { LinuxResources } from '../runtime/cgroups/index.js';
import type { Spec } from '../runtime/spec/types.js';

const MIB = 1 << 20;

export function hostResources(spec: Spec, guestMemoryMiB: number, overheadMiB: number): LinuxResources {
  const r = (spec.linux?.resources ?? {}) as LinuxResources;
  const out: LinuxResources = {};
  if (r.cpu) {
    // real-time budgets are per guest thread: qemu's threads do not get them
    const cpu: NonNullable<LinuxResources['cpu']> = { ...r.cpu };
    delete cpu.realtimeRuntime;
    delete cpu.realtimePeriod;
    if (Object.values(cpu).some((v) => v !== undefined)) out.cpu = cpu;
  }
  if (r.blockIO) out.blockIO = r.blockIO;
  const limit = Number(r.memory?.limit ?? 0);
  if (limit > 0) out.memory = { limit: (guestMemoryMiB + overheadMiB) * MIB };
  return out;
}

/** Whether the container asks for a memory limit: its VM then gets a bounded translation buffer under TCG. */
export const hasMemoryLimit = (spec: Spec): boolean => Number(spec.linux?.resources?.memory?.limit ?? 0) > 0;
