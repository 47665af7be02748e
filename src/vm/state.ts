/**
 * berth-vm's state: berth-runtime's state.json (the same format: `pid` is
 * the keeper's, the process whose exit is the container's) plus vm.json with
 * what only a VM has. The status comes from the keeper, which asks nobody:
 * it knows whether it has told the agent to start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/fs.js';
import { isAlive } from '../runtime/procfs.js';
import type { ContainerRecord, Status, StateStore } from '../runtime/state.js';
import { queryState } from './control.js';
import type { Machine } from './machine.js';
import { paths } from './qemu.js';

export const DEFAULT_ROOT = '/run/berth/vm';

export interface ProcRef { pid: number; startTime: number }

export interface VmRecord {
  keeper: ProcRef;
  qemu: ProcRef;
  virtiofsd: ProcRef;
  /** the guest kernel's release, as the agent reported it */
  release: string;
  accel: 'kvm' | 'tcg';
  /** qemu's machine type (absent in records of before the q35 fallback: microvm) */
  machine?: Machine;
  /** tap device created inside the container's network namespace */
  tap?: { netns: string; name: string };
}

export function saveVm(store: StateStore, id: string, vm: VmRecord): void {
  writeFileAtomic(join(store.dir(id), 'vm.json'), JSON.stringify(vm), 0o600, false);
}

export function loadVm(store: StateStore, id: string): VmRecord | undefined {
  try { return JSON.parse(readFileSync(join(store.dir(id), 'vm.json'), 'utf8')) as VmRecord; } catch { return undefined; }
}

/** `frozen` asks the cgroup: a paused VM's keeper is frozen too and cannot answer. */
export async function vmStatus(store: StateStore, rec: ContainerRecord, vm: VmRecord | undefined, frozen: () => boolean): Promise<Status> {
  if (!vm || !isAlive(rec.pid, rec.initStartTime)) return 'stopped';
  if (frozen()) return 'paused';
  try {
    return (await queryState(paths(store.dir(rec.id)).controlSocket)).status;
  } catch {
    // alive but not answering: it is shutting down after the container's exit
    return 'stopped';
  }
}
