/**
 * `create`: the VM boots with the container created inside it and its init
 * waiting for `start`. This process decides (cgroup, command lines, the
 * agent's Create message) and writes the keeper's plan; the keeper, detached
 * and holding the caller's stdio, runs virtiofsd and qemu and reports when
 * the agent has created the container. Then this process exits, like runc.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { BerthError, failedPrecondition, invalidArgument } from '../common/errors.js';
import { openCgroup } from '../runtime/cgroups/index.js';
import { procStat } from '../runtime/procfs.js';
import { loadSpec } from '../runtime/spec/load.js';
import type { Spec } from '../runtime/spec/types.js';
import { StateStore, type ContainerRecord } from '../runtime/state.js';
import { loadVmConfig, type VmConfig } from './config.js';
import { callerPath, type VmContext } from './context.js';
import { ensureInitramfs } from './initramfs.js';
import { hasMemoryLimit, hostResources } from './limits.js';
import { chooseAccel } from './kvm.js';
import { chooseMachine } from './machine.js';
import { createPairs } from './messages.js';
import { encodePairs, type Pairs } from './protocol.js';
import { hostTscKhz, paths, qemuArgs, virtiofsdArgs, type VmLayout } from './qemu.js';
import { saveVm, type VmRecord } from './state.js';
import { prepareTap, removeTap } from './network.js';
import { cleanupVm } from './delete.js';

export interface CreateOptions {
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  /** `run` in the foreground: keep the keeper as our child and hand back its exit code */
  waitable?: boolean;
}

export const OCI_VERSION = '1.2.0';

/** Guest RAM from the memory limit (at least 128 MiB: the guest kernel needs room), vCPUs from the cpu quota or cpuset. */
export function vmSize(spec: Spec, defaultMiB: number): { memoryMiB: number; cpus: number } {
  const limit = Number(spec.linux?.resources?.memory?.limit ?? 0);
  const memoryMiB = limit > 0 ? Math.max(128, Math.ceil(limit / (1 << 20))) : defaultMiB;
  const cpu = spec.linux?.resources?.cpu;
  let cpus = 1;
  const quota = Number(cpu?.quota ?? 0), period = Number(cpu?.period ?? 100000);
  if (quota > 0 && period > 0) cpus = Math.max(1, Math.ceil(quota / period));
  else if (cpu?.cpus) cpus = countCpus(cpu.cpus);
  return { memoryMiB, cpus };
}

function countCpus(list: string): number {
  let n = 0;
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    n += b === undefined || Number.isNaN(b) ? 1 : b - a + 1;
  }
  return Math.max(1, n);
}

function planPairs(cfg: VmConfig, layout: VmLayout, cgroupProcs: string[], netns: string | undefined, consoleSocket: string | undefined): Pairs {
  const p = paths(layout.dir);
  const tsc = hostTscKhz();
  const out: Pairs = [];
  for (const c of cgroupProcs) out.push(['cgroup_procs', c]);
  for (const a of virtiofsdArgs(cfg.virtiofsd, layout)) out.push(['virtiofsd', a]);
  for (const a of qemuArgs(cfg.qemu, layout, tsc)) out.push(['qemu', a]);
  out.push(['virtiofsd_socket', p.virtiofsdSocket], ['agent_socket', p.agentSocket], ['control_socket', p.controlSocket]);
  out.push(['create', p.create], ['log', p.log], ['boot_timeout_ms', String(cfg.bootTimeoutMs)]);
  if (netns) out.push(['netns', netns]);
  if (consoleSocket) out.push(['console_socket', consoleSocket]);
  return out;
}

/** Starts the keeper and waits for its one line on fd 3. */
async function startKeeper(cfg: VmConfig, planFile: string, waitable: boolean): Promise<{ pid: number; line: string; exit: Promise<number> }> {
  if (!existsSync(cfg.keeper)) throw failedPrecondition(`berth-vm keeper ${cfg.keeper} is missing: run the build`);
  const child = spawn(cfg.keeper, [planFile], { detached: true, stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  let line = '';
  pipe.setEncoding('utf8');
  pipe.on('data', (d: string) => { line += d; });
  const exited = new Promise<number>((r) => child.on('exit', (code, sig) => r(code ?? 128 + (sig ? constants.signals[sig] : 9))));
  await new Promise<void>((r) => { pipe.on('end', () => r()); pipe.on('close', () => r()); });
  if (!line) await Promise.race([exited, new Promise((r) => setTimeout(r, 200))]);
  if (!waitable) child.unref();
  if (!child.pid) throw new BerthError('internal', 'cannot start the vm keeper');
  return { pid: child.pid, line: line.trim(), exit: exited };
}

/**
 * Resolves, with `waitable`, to a holder of the container's exit code (a
 * holder: an async function returning a bare promise would wait for it).
 */
export async function createVm(ctx: VmContext, id: string, opts: CreateOptions): Promise<{ exit: Promise<number> } | undefined> {
  const cfg = loadVmConfig(ctx.env);
  const bundle = resolve(callerPath(ctx, opts.bundle));
  const spec = loadSpec(bundle);
  if (!spec.process) throw invalidArgument(`cannot create container ${id}: config.json has no process`);
  if (spec.process.terminal && !opts.consoleSocket) throw invalidArgument(`cannot create container ${id}: terminal requires --console-socket`);
  const rootfs = resolve(bundle, spec.root?.path ?? 'rootfs');
  if (!existsSync(rootfs)) throw invalidArgument(`cannot create container ${id}: rootfs ${rootfs} does not exist`);
  const store = new StateStore(ctx.root);
  const dir = store.reserve(id);
  const record: ContainerRecord = {
    ociVersion: OCI_VERSION, id, pid: 0, initStartTime: 0, bundle, rootfs, created: new Date().toISOString(),
    owner: 'root', annotations: spec.annotations ?? {}, cgroup: undefined, config: spec, runtime: 'berth-vm',
  };
  const { machine, reason: machineReason } = chooseMachine(cfg.machine, cfg.kernel);
  const { accel, reason: accelReason } = chooseAccel({
    setting: cfg.kvm, qemu: cfg.qemu, kernel: cfg.kernel, machine, cacheDir: cfg.cacheDir, probeTimeoutMs: cfg.kvmProbeTimeoutMs,
  });
  ctx.log.debug('vm machine', { id, machine, accel, why: `${machineReason}; ${accelReason}` });
  const vm: VmRecord = {
    keeper: { pid: 0, startTime: 0 }, qemu: { pid: 0, startTime: 0 }, virtiofsd: { pid: 0, startTime: 0 },
    release: '', accel, machine,
  };
  try {
    const size = vmSize(spec, cfg.memoryMiB);
    const cg = openCgroup({ cgroupsPath: spec.linux?.cgroupsPath, id, systemd: ctx.systemdCgroup, log: ctx.log });
    cg.create();
    // the keeper joins this cgroup before it starts virtiofsd and qemu: the limits hold them from their first page
    cg.apply(hostResources(spec, size.memoryMiB, cfg.memoryOverheadMiB));
    record.cgroup = { version: cg.version, paths: cg.paths };
    store.save(record);
    saveVm(store, id, vm);
    const netns = spec.linux?.namespaces?.find((n) => n.type === 'network')?.path;
    const tap = netns ? prepareTap(netns, id) : undefined;
    if (tap) { vm.tap = { netns: tap.netns, name: tap.name }; saveVm(store, id, vm); }
    const layout: VmLayout = {
      dir, kernel: cfg.kernel, initramfs: ensureInitramfs(cfg.agent, cfg.modules, cfg.cacheDir, machine), rootfs,
      ...size, kvm: vm.accel === 'kvm', machine, tcgBufferMiB: hasMemoryLimit(spec) ? cfg.tcgBufferMiB : undefined, debug: Boolean(ctx.env.BERTH_VM_DEBUG), tap: tap ? { name: tap.name, mac: tap.mac } : undefined,
    };
    const p = paths(dir);
    mkdirSync(p.sockets, { recursive: true, mode: 0o700 });
    const createMsg = createPairs(spec);
    if (tap) createMsg.push(...tap.guestPairs);
    writeFileSync(p.create, encodePairs(createMsg), { mode: 0o600 });
    const cgroupProcs = Object.values(cg.paths).map((d) => `${d}/cgroup.procs`);
    const consoleSocket = opts.consoleSocket ? resolve(callerPath(ctx, opts.consoleSocket)) : undefined;
    writeFileSync(p.plan, encodePairs(planPairs(cfg, layout, cgroupProcs, tap ? netns : undefined, consoleSocket)), { mode: 0o600 });
    const keeper = await startKeeper(cfg, p.plan, opts.waitable ?? false);
    const [word, ...rest] = keeper.line.split(' ');
    if (word !== 'ok') {
      const why = word === 'error' ? rest.join(' ') : 'the vm keeper exited without a word';
      throw failedPrecondition(`cannot create container ${id}: ${why}`);
    }
    const [qemuPid, fsdPid, , release] = rest;
    const ref = (pid: number) => ({ pid, startTime: procStat(pid)?.startTime ?? 0 });
    vm.keeper = ref(keeper.pid);
    vm.qemu = ref(Number(qemuPid));
    vm.virtiofsd = ref(Number(fsdPid));
    vm.release = release ?? '';
    record.pid = keeper.pid;
    record.initStartTime = vm.keeper.startTime;
    saveVm(store, id, vm);
    store.save(record);
    if (opts.pidFile) writeFileSync(resolve(callerPath(ctx, opts.pidFile)), String(keeper.pid));
    return opts.waitable ? { exit: keeper.exit } : undefined;
  } catch (err) {
    await cleanupVm(store, id, ctx.log).catch(() => undefined);
    if (vm.tap) removeTap(vm.tap.netns, vm.tap.name);
    throw err;
  }
}
