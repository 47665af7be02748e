/**
 * Tearing a VM down: the keeper, qemu and virtiofsd (by pid, checked against
 * their start times, then whatever is left in the cgroup), the tap, the
 * cgroup, the state directory. Safe to repeat and on half-created state.
 */
import { rmSync } from 'node:fs';
import type { Logger } from '../common/log.js';
import { fromPaths } from '../runtime/cgroups/index.js';
import { isAlive, waitGone } from '../runtime/procfs.js';
import type { StateStore } from '../runtime/state.js';
import { removeTap } from './network.js';
import { paths } from './qemu.js';
import { loadVm, type ProcRef } from './state.js';

async function stop(p: ProcRef, sig: NodeJS.Signals): Promise<void> {
  if (!isAlive(p.pid, p.startTime)) return;
  try { process.kill(p.pid, sig); } catch { return; }
  if (!(await waitGone(p.pid, p.startTime, 2000))) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    await waitGone(p.pid, p.startTime, 2000);
  }
}

export async function cleanupVm(store: StateStore, id: string, log: Logger): Promise<void> {
  let rec;
  try { rec = store.load(id); } catch { rec = undefined; }
  const vm = loadVm(store, id);
  if (vm) {
    // the keeper first: it would otherwise take the VM's death for the container's exit
    await stop(vm.keeper, 'SIGKILL');
    await Promise.all([stop(vm.qemu, 'SIGTERM'), stop(vm.virtiofsd, 'SIGTERM')]);
    if (vm.tap) removeTap(vm.tap.netns, vm.tap.name);
  }
  if (rec?.cgroup) {
    try {
      const cg = fromPaths(rec.cgroup.paths, log);
      if (cg.exists()) { cg.thaw(); cg.destroy({ killProcesses: true }); }
    } catch (err) {
      log.warn('cannot remove the cgroup of the vm', { id, error: String(err) });
    }
  }
  rmSync(paths(store.dir(id)).sockets, { recursive: true, force: true });
  store.remove(id);
}
