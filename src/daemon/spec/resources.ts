/**
 * HostConfig's resources as the OCI spec's linux.resources (memory, swap,
 * CPU, cpuset, pids, blkio, OOM killer), ulimits as rlimits, and devices:
 * Docker's default device cgroup rules, --device, and every host device for
 * a privileged container.
 */
import { readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../common/errors.js';
import type { DeviceMapping, DockerHostConfig, Ulimit } from '../containers/types.js';

export interface OciDevice { path: string; type: string; major: number; minor: number; fileMode: number; uid: number; gid: number }
export interface OciDeviceRule { allow: boolean; type?: string; major?: number; minor?: number; access: string }
export interface OciRlimit { type: string; hard: number; soft: number }

export interface OciResources {
  devices: OciDeviceRule[];
  memory?: { limit?: number; swap?: number; reservation?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: { weight: number };
}

/** dockerd's device cgroup rules for an unprivileged container. */
export const DEFAULT_DEVICE_RULES: readonly OciDeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // console
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // pts
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // tun
  { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' }, // fuse stays refused
  { allow: true, type: 'c', access: 'm' }, // mknod of any char device
  { allow: true, type: 'b', access: 'm' }, // mknod of any block device
];

/** The default soft/hard nofile of containers (what dockerd's containers get from containerd's defaults). */
export const DEFAULT_NOFILE = 1048576;

const major = (rdev: number): number => Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
const minor = (rdev: number): number => (rdev & 0xff) | Number((BigInt(rdev) >> 12n) & ~0xffn);

function deviceOf(path: string, st: Stats, inContainer: string): OciDevice | undefined {
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (type === undefined) return undefined;
  return { path: inContainer, type, major: major(st.rdev), minor: minor(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** --device entries (a directory brings every device under it). */
export function userDevices(mappings: readonly DeviceMapping[]): { devices: OciDevice[]; rules: OciDeviceRule[] } {
  const devices: OciDevice[] = [];
  const rules: OciDeviceRule[] = [];
  for (const m of mappings) {
    const access = m.CgroupPermissions || 'rwm';
    if (!/^[rwm]+$/.test(access)) throw invalidArgument(`invalid device cgroup permissions: ${access}`);
    let st: Stats;
    try { st = statSync(m.PathOnHost); } catch {
      throw invalidArgument(`error gathering device information while adding custom device "${m.PathOnHost}": no such file or directory`);
    }
    const target = m.PathInContainer || m.PathOnHost;
    const found = st.isDirectory() ? hostDevices(m.PathOnHost).map((d) => ({ ...d, path: join(target, d.path.slice(m.PathOnHost.length)) }))
      : [deviceOf(m.PathOnHost, st, target)].filter((d): d is OciDevice => d !== undefined);
    if (found.length === 0) throw invalidArgument(`error gathering device information while adding custom device "${m.PathOnHost}": not a device node`);
    for (const d of found) {
      devices.push(d);
      rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access });
    }
  }
  return { devices, rules };
}

/** Every device node under `dir` (/dev for privileged), skipping /dev/pts, shm, mqueue and console. */
export function hostDevices(dir = '/dev'): OciDevice[] {
  const out: OciDevice[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try { names = readdirSync(d); } catch { return; }
    for (const n of names) {
      const p = join(d, n);
      if (['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/console', '/dev/ptmx'].includes(p)) continue;
      let st: Stats;
      try { st = statSync(p); } catch { continue; }
      if (st.isDirectory()) { walk(p); continue; }
      const dev = deviceOf(p, st, p);
      if (dev) out.push(dev);
    }
  };
  walk(dir);
  return out;
}

export function resources(h: DockerHostConfig, extraRules: readonly OciDeviceRule[], privileged: boolean): OciResources {
  const r: OciResources = { devices: privileged ? [{ allow: true, access: 'rwm' }] : [...DEFAULT_DEVICE_RULES, ...extraRules] };
  const memory: NonNullable<OciResources['memory']> = {};
  if (h.Memory && h.Memory > 0) {
    if (h.Memory < 6 * 1024 * 1024) throw invalidArgument('Minimum memory limit allowed is 6MB');
    memory.limit = h.Memory;
    // MemorySwap 0: twice the memory (dockerd's default); -1: unlimited
    if (h.MemorySwap === undefined || h.MemorySwap === 0) memory.swap = h.Memory * 2;
    else if (h.MemorySwap === -1) memory.swap = -1;
    else {
      if (h.MemorySwap < h.Memory) throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
      memory.swap = h.MemorySwap;
    }
  } else if (h.MemorySwap && h.MemorySwap > 0) {
    throw invalidArgument('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (h.MemoryReservation && h.MemoryReservation > 0) memory.reservation = h.MemoryReservation;
  if (h.OomKillDisable === true) memory.disableOOMKiller = true;
  if (Object.keys(memory).length > 0) r.memory = memory;
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (h.NanoCpus && h.NanoCpus > 0) {
    if (h.CpuQuota || h.CpuPeriod) throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
    cpu.period = 100000;
    cpu.quota = Math.round((h.NanoCpus * 100000) / 1e9);
  }
  if (h.CpuShares && h.CpuShares > 0) cpu.shares = h.CpuShares;
  if (h.CpuQuota && h.CpuQuota > 0) cpu.quota = h.CpuQuota;
  if (h.CpuPeriod && h.CpuPeriod > 0) cpu.period = h.CpuPeriod;
  if (h.CpusetCpus) cpu.cpus = h.CpusetCpus;
  if (h.CpusetMems) cpu.mems = h.CpusetMems;
  if (Object.keys(cpu).length > 0) r.cpu = cpu;
  if (h.PidsLimit !== undefined && h.PidsLimit !== null && h.PidsLimit > 0) r.pids = { limit: h.PidsLimit };
  if (h.BlkioWeight && h.BlkioWeight > 0) r.blockIO = { weight: h.BlkioWeight };
  return r;
}

const RLIMITS = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack', 'as'];

/** Ulimits as rlimits, the daemon's nofile default first (a container's own nofile replaces it). */
export function rlimits(ulimits: readonly Ulimit[], defaultNofile = DEFAULT_NOFILE): OciRlimit[] {
  const out = new Map<string, OciRlimit>([['nofile', { type: 'RLIMIT_NOFILE', hard: defaultNofile, soft: defaultNofile }]]);
  for (const u of ulimits) {
    const name = u.Name.toLowerCase();
    if (!RLIMITS.includes(name)) throw invalidArgument(`invalid ulimit type: ${u.Name}`);
    if (u.Soft > u.Hard) throw invalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
    out.set(name, { type: `RLIMIT_${name.toUpperCase()}`, hard: u.Hard, soft: u.Soft });
  }
  return [...out.values()];
}
