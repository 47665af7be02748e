/**
 * The plan of a container's init: the config, decided step by step, in the
 * order the executor carries it out (namespaces, root filesystem and mounts,
 * devices, the root switch, hardening of /proc and /sys, then the process).
 */
import { statSync, readFileSync } from 'node:fs';
import type { PlanEntry } from './wire.js';
import { HookPoint, MountExtra, PlanKind, RootSwitch } from './format.js';
import { MS, parseMountOptions, propagationFlags } from './mount-options.js';
import { DEFAULT_DEVICES, deviceRecords, devSymlinks, type DeviceNode } from './devices.js';
import { processRecords } from './process.js';
import { invalidArgument } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { CLONE_NEWCGROUP, CLONE_NEWTIME, NAMESPACES, type NamespaceType } from '../spec/namespaces.js';
import type { Spec } from '../spec/types.js';
import type { CgroupRecord } from '../state.js';

export interface InitPlanOptions {
  id: string;
  spec: Spec;
  bundle: string;
  rootfs: string;
  fifoPath: string;
  consoleSocket: string | undefined;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  cgroup: CgroupRecord | undefined;
  /** state JSON given to startContainer hooks (status "created") */
  hookState: string;
  log: Logger;
}

/** setns order: the user namespace first (it owns the others), the mount namespace last (it changes what paths mean). */
export const JOIN_ORDER: readonly NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

export function namespaceRecords(spec: Spec): { records: PlanEntry[]; newFlags: number; userNs: boolean } {
  const nss = spec.linux?.namespaces ?? [];
  const records: PlanEntry[] = [];
  let newFlags = 0;
  for (const type of JOIN_ORDER) {
    const ns = nss.find((n) => n.type === type);
    if (!ns) continue;
    const kind = NAMESPACES[type];
    if (ns.path) records.push({ type: 'NS_JOIN', value: { nstype: kind.flag, path: ns.path } });
    else newFlags |= kind.flag;
  }
  // The cgroup namespace is unshared after the process joined its cgroup, so its root is the container's cgroup.
  const cloneFlags = newFlags & ~CLONE_NEWCGROUP;
  records.push({ type: 'NS_NEW', value: { flags: cloneFlags } });
  if (newFlags & CLONE_NEWTIME) {
    const offsets = spec.linux?.timeOffsets ?? {};
    const lines = Object.entries(offsets).map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`);
    if (lines.length) records.push({ type: 'TIMENS_OFFSETS', value: { offsets: lines.join('\n') } });
  }
  if (newFlags & CLONE_NEWCGROUP) records.push({ type: 'UNSHARE', value: { flags: CLONE_NEWCGROUP } });
  const userNs = nss.some((n) => n.type === 'user');
  return { records, newFlags, userNs };
}

interface HostMount { mountPoint: string; fstype: string; superOptions: string }

/** cgroup mount points of the host, from /proc/self/mountinfo. */
function hostCgroupMounts(): HostMount[] {
  const out: HostMount[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (right[0] === 'cgroup' || right[0] === 'cgroup2') {
      out.push({ mountPoint: left[4]!, fstype: right[0], superOptions: right[2] ?? '' });
    }
  }
  return out;
}

/**
 * A `cgroup` mount of the config: the container sees its own cgroup as the
 * root of each hierarchy. Bind mounts of its cgroup directories work with
 * and without user and cgroup namespaces, on v1 and v2 alike.
 */
function cgroupMountRecords(dest: string, flags: number, cgroup: CgroupRecord | undefined, cgroupNs: boolean, lateReadonly: string[]): PlanEntry[] {
  const ro = flags & MS.RDONLY;
  const base = { data: '', propagation: 0n, uidMappings: '', gidMappings: '' };
  if (cgroup?.version === 2 && cgroupNs) {
    return [{ type: 'MOUNT', value: { ...base, source: 'cgroup', dest, fstype: 'cgroup2', flags: BigInt(flags), extra: 0 } }];
  }
  const mounts = hostCgroupMounts();
  if (cgroup?.version === 2 || mounts.every((m) => m.fstype === 'cgroup2')) {
    const dir = cgroup?.paths[''] ?? '/sys/fs/cgroup';
    return [{ type: 'MOUNT', value: { ...base, source: dir, dest, fstype: 'bind', flags: BigInt(MS.BIND | MS.REC | flags), extra: MountExtra.REMOUNT } }];
  }
  // v1: a tmpfs holding one bind per hierarchy. The tmpfs itself becomes
  // read-only after the root switch (READONLY), once the binds are in place.
  if (ro) lateReadonly.push(dest);
  const records: PlanEntry[] = [{
    type: 'MOUNT', value: { ...base, source: 'tmpfs', dest, fstype: 'tmpfs', flags: BigInt(MS.NOSUID | MS.NODEV | MS.NOEXEC), data: 'mode=755', extra: 0 },
  }];
  const dirs = Object.values(cgroup?.paths ?? {});
  for (const m of mounts) {
    const own = dirs.find((d) => d === m.mountPoint || d.startsWith(`${m.mountPoint}/`));
    const name = m.mountPoint.split('/').pop()!;
    records.push({ type: 'MOUNT', value: {
      ...base, source: own ?? m.mountPoint, dest: `${dest}/${name}`, fstype: 'bind',
      flags: BigInt(MS.BIND | MS.NOSUID | MS.NODEV | MS.NOEXEC | ro), extra: MountExtra.REMOUNT,
    } });
  }
  return records;
}

function mapText(maps: readonly { containerID: number; hostID: number; size: number }[] | undefined): string {
  return (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join('\n');
}

function mountRecords(spec: Spec, o: InitPlanOptions, cgroupNs: boolean): { records: PlanEntry[]; hasDevTmpfs: boolean; hasProc: boolean; hasDevpts: boolean; lateReadonly: string[] } {
  const records: PlanEntry[] = [];
  const lateReadonly: string[] = [];
  let hasDevTmpfs = false;
  let hasProc = false;
  let hasDevpts = false;
  for (const [i, m] of (spec.mounts ?? []).entries()) {
    const where = `mounts[${i}]`;
    const dest = m.destination.startsWith('/') ? m.destination : `/${m.destination}`;
    const opts = parseMountOptions(m.options);
    const type = m.type ?? (opts.flags & MS.BIND ? 'bind' : '');
    const isBind = type === 'bind' || (opts.flags & MS.BIND) !== 0;
    if (type === 'cgroup' || type === 'cgroup2') {
      records.push(...cgroupMountRecords(dest, opts.flags, o.cgroup, cgroupNs, lateReadonly));
      continue;
    }
    if (type === 'proc') hasProc = true;
    if (type === 'devpts') hasDevpts = true;
    if (dest === '/dev' && type === 'tmpfs') hasDevTmpfs = true;
    let extra = 0;
    let flags = opts.flags;
    let source = m.source ?? '';
    if (isBind) {
      flags |= MS.BIND;
      if (!source) throw invalidArgument(`${where}.source: a bind mount needs a source`);
      if (!source.startsWith('/')) source = `${o.bundle}/${source}`;
      let st;
      try { st = statSync(source); } catch {
        throw invalidArgument(`${where}.source: bind source ${source} does not exist`);
      }
      if (!st.isDirectory()) extra |= MountExtra.FILE_TARGET;
      if (flags & ~(MS.BIND | MS.REC | MS.REMOUNT)) extra |= MountExtra.REMOUNT;
      if (opts.recursiveReadonly) extra |= MountExtra.RECURSIVE_RO;
    }
    let uidMappings = '';
    let gidMappings = '';
    if (opts.idmap || (m.uidMappings?.length ?? 0) > 0) {
      extra |= MountExtra.IDMAP;
      uidMappings = mapText(m.uidMappings ?? spec.linux?.uidMappings);
      gidMappings = mapText(m.gidMappings ?? spec.linux?.gidMappings);
    }
    const propagation = opts.propagation.reduce((a, b) => a | b, 0);
    records.push({ type: 'MOUNT', value: {
      source: source || type, dest, fstype: isBind ? 'bind' : type, flags: BigInt(flags), propagation: BigInt(propagation),
      data: opts.data, extra, uidMappings, gidMappings,
    } });
  }
  return { records, hasDevTmpfs, hasProc, hasDevpts, lateReadonly };
}

function hooksNeedPoint(spec: Spec): boolean {
  const h = spec.hooks;
  return Boolean(h && ((h.prestart?.length ?? 0) + (h.createRuntime?.length ?? 0) + (h.createContainer?.length ?? 0) > 0));
}

export function buildInitPlan(o: InitPlanOptions): PlanEntry[] {
  const spec = o.spec;
  const process = spec.process;
  if (!process) throw invalidArgument('config.json: process: required to create a container');
  const ns = namespaceRecords(spec);
  const plan: PlanEntry[] = [{ type: 'KIND', value: { kind: PlanKind.INIT } }, ...ns.records];
  plan.push({ type: 'SETSID', value: {} });
  plan.push({ type: 'EXEC_FIFO', value: { path: o.fifoPath } });
  const prop = propagationFlags(spec.linux?.rootfsPropagation);
  if (spec.linux?.rootfsPropagation && prop === undefined) {
    throw invalidArgument(`config.json: linux.rootfsPropagation: unknown propagation "${spec.linux.rootfsPropagation}"`);
  }
  plan.push({ type: 'ROOTFS_PROPAGATION', value: { flags: BigInt(prop ?? (MS.SLAVE | MS.REC)) } });
  plan.push({ type: 'ROOTFS', value: { path: o.rootfs } });

  const m = mountRecords(spec, o, (ns.newFlags & CLONE_NEWCGROUP) !== 0);
  plan.push(...m.records);
  const devices: DeviceNode[] = [];
  if (m.hasDevTmpfs) devices.push(...DEFAULT_DEVICES);
  for (const d of spec.linux?.devices ?? []) {
    const node: DeviceNode = {
      path: d.path, type: d.type as DeviceNode['type'], major: d.major ?? 0, minor: d.minor ?? 0,
      fileMode: d.fileMode ?? 0o666, uid: d.uid ?? 0, gid: d.gid ?? 0,
    };
    const at = devices.findIndex((x) => x.path === node.path);
    if (at >= 0) devices[at] = node; else devices.push(node);
  }
  plan.push(...deviceRecords(devices, ns.userNs));
  if (m.hasDevTmpfs) plan.push(...devSymlinks(m.hasProc, m.hasDevpts));

  if (hooksNeedPoint(spec)) plan.push({ type: 'HOOK_POINT', value: { point: HookPoint.CREATE_RUNTIME } });
  plan.push({ type: 'ROOT_SWITCH', value: { mode: o.noPivot ? RootSwitch.MOVE_CHROOT : RootSwitch.PIVOT_ROOT } });
  // sysctls go through /proc/sys, so before readonlyPaths makes it read-only
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) plan.push({ type: 'SYSCTL', value: { key, value } });
  for (const p of spec.linux?.maskedPaths ?? []) plan.push({ type: 'MASK', value: { path: p } });
  for (const p of m.lateReadonly) plan.push({ type: 'READONLY', value: { path: p } });
  for (const p of spec.linux?.readonlyPaths ?? []) plan.push({ type: 'READONLY', value: { path: p } });
  if (spec.root?.readonly) plan.push({ type: 'ROOT_READONLY', value: {} });
  if (spec.hostname) plan.push({ type: 'HOSTNAME', value: { name: spec.hostname } });
  if (spec.domainname) plan.push({ type: 'DOMAINNAME', value: { name: spec.domainname } });
  if (process.terminal) {
    plan.push({ type: 'TERMINAL', value: { rows: process.consoleSize?.height ?? 0, cols: process.consoleSize?.width ?? 0 } });
    if (o.consoleSocket) plan.push({ type: 'CONSOLE_SOCKET', value: { path: o.consoleSocket } });
  }
  plan.push(...processRecords({
    process, seccomp: spec.linux?.seccomp, personality: spec.linux?.personality,
    noNewKeyring: o.noNewKeyring, preserveFds: o.preserveFds, log: o.log, containerId: o.id,
    bundle: o.bundle, annotations: (spec.annotations ?? {}) as Record<string, string>, status: 'creating',
  }));
  for (const h of spec.hooks?.startContainer ?? []) {
    plan.push({ type: 'START_HOOK', value: { path: h.path, args: h.args ?? [h.path], env: h.env ?? [], timeout: h.timeout ?? 0, state: o.hookState } });
  }
  return plan;
}
