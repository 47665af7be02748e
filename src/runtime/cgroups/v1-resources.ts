/**
 * Writing LinuxResources into cgroup v1 controller directories, one
 * function per controller. Each receives the directory of its controller.
 */
import { BerthError, failedPrecondition, invalidArgument, unavailable } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { devNumber } from './convert.js';
import { hasFile, readFile, readNumber, writeFile } from './files.js';
import type {
  LinuxBlockIO, LinuxCPU, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxNetwork, LinuxThrottleDevice,
} from './types.js';

const set = (n: number | undefined): n is number => n !== undefined && n !== 0;

export function setMemory(dir: string, m: LinuxMemory, log: Logger): void {
  const limit = m.limit;
  let swap = m.swap;
  // An unlimited memory cgroup with a limited memsw would refuse the write.
  if (limit === -1 && !set(swap)) swap = -1;
  if (m.checkBeforeUpdate && limit !== undefined && limit > 0) {
    const usage = readNumber(dir, 'memory.usage_in_bytes');
    if (limit < usage) {
      throw failedPrecondition(`cannot set memory limit ${limit}: lower than the current usage ${usage} of ${dir}`);
    }
  }
  if (set(swap) && !hasFile(dir, 'memory.memsw.limit_in_bytes')) {
    if (swap !== -1) throw unavailable(`cannot set memory+swap limit ${swap}: swap accounting is disabled in this kernel`);
    swap = undefined;
  }
  if (set(limit) && set(swap)) {
    // The kernel keeps memory.limit ≤ memsw.limit at every step: when the
    // new memsw is above the current limit (growing), memsw goes first;
    // when shrinking, the limit goes first.
    const current = readNumber(dir, 'memory.limit_in_bytes');
    if (swap === -1 || current < swap) {
      writeFile(dir, 'memory.memsw.limit_in_bytes', swap);
      writeFile(dir, 'memory.limit_in_bytes', limit);
    } else {
      writeFile(dir, 'memory.limit_in_bytes', limit);
      writeFile(dir, 'memory.memsw.limit_in_bytes', swap);
    }
  } else if (set(limit)) {
    writeFile(dir, 'memory.limit_in_bytes', limit);
  } else if (set(swap)) {
    writeFile(dir, 'memory.memsw.limit_in_bytes', swap);
  }
  if (set(m.reservation)) writeFile(dir, 'memory.soft_limit_in_bytes', m.reservation);
  if (set(m.kernel)) {
    log.warn('kernel memory limits are not supported by this kernel; ignoring memory.kernel', { dir, kernel: m.kernel });
  }
  if (set(m.kernelTCP)) {
    if (hasFile(dir, 'memory.kmem.tcp.limit_in_bytes')) writeFile(dir, 'memory.kmem.tcp.limit_in_bytes', m.kernelTCP);
    else log.warn('kernel TCP memory limits are not supported by this kernel; ignoring memory.kernelTCP', { dir });
  }
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    if (!Number.isInteger(m.swappiness) || m.swappiness < 0 || m.swappiness > 100) {
      throw invalidArgument(`invalid memory swappiness ${m.swappiness}: must be between 0 and 100`);
    }
    writeFile(dir, 'memory.swappiness', m.swappiness);
  }
  if (m.disableOOMKiller) writeFile(dir, 'memory.oom_control', '1');
  if (m.useHierarchy !== undefined && hasFile(dir, 'memory.use_hierarchy')) {
    const want = m.useHierarchy ? '1' : '0';
    // Current kernels always use the hierarchy and refuse 0; only write a change.
    if (readFile(dir, 'memory.use_hierarchy').trim() !== want) writeFile(dir, 'memory.use_hierarchy', want);
  }
}

export function setCpu(dir: string, c: LinuxCPU): void {
  if (set(c.shares)) {
    writeFile(dir, 'cpu.shares', c.shares);
    const got = readNumber(dir, 'cpu.shares');
    if (got !== c.shares) throw invalidArgument(`invalid cpu shares ${c.shares}: the kernel accepts 2 to 262144 (it set ${got})`);
  }
  if (set(c.period)) writeFile(dir, 'cpu.cfs_period_us', c.period);
  if (set(c.quota)) writeFile(dir, 'cpu.cfs_quota_us', c.quota);
  if (c.burst !== undefined) {
    if (!hasFile(dir, 'cpu.cfs_burst_us')) throw unavailable(`cannot set cpu burst ${c.burst}: not supported by this kernel (${dir})`);
    writeFile(dir, 'cpu.cfs_burst_us', c.burst);
  }
  if (set(c.realtimePeriod) || set(c.realtimeRuntime)) {
    if (!hasFile(dir, 'cpu.rt_period_us')) throw unavailable(`cannot set realtime cpu limits: the kernel has no realtime group scheduling (${dir})`);
    if (set(c.realtimePeriod)) writeFile(dir, 'cpu.rt_period_us', c.realtimePeriod);
    if (set(c.realtimeRuntime)) writeFile(dir, 'cpu.rt_runtime_us', c.realtimeRuntime);
  }
  if (c.idle !== undefined) {
    if (!hasFile(dir, 'cpu.idle')) {
      if (c.idle !== 0) throw unavailable(`cannot set cpu idle ${c.idle}: not supported by this kernel (${dir})`);
    } else {
      writeFile(dir, 'cpu.idle', c.idle);
    }
  }
}

export function setCpuset(dir: string, c: LinuxCPU): void {
  if (c.cpus) writeFile(dir, 'cpuset.cpus', c.cpus);
  if (c.mems) writeFile(dir, 'cpuset.mems', c.mems);
}

export function pidsMax(limit: number): string {
  return limit > 0 ? String(limit) : 'max';
}

function throttle(dir: string, file: string, list: LinuxThrottleDevice[] | undefined): void {
  for (const d of list ?? []) writeFile(dir, file, `${devNumber(d.major, d.minor)} ${d.rate}`);
}

/** Per-device weights need the device's io scheduler to have weights (bfq); the kernel says EOPNOTSUPP. */
export function writeDeviceWeight(dir: string, file: string, major: number, minor: number, value: number | string): void {
  try {
    writeFile(dir, file, `${devNumber(major, minor)} ${value}`);
  } catch (err) {
    if (err instanceof BerthError && (err.errno === 'ENOTSUP' || err.errno === 'EOPNOTSUPP')) {
      throw unavailable(`cannot set block io weight for device ${devNumber(major, minor)}: its io scheduler has no weights (bfq has)`);
    }
    throw err;
  }
}

export function setBlkio(dir: string, b: LinuxBlockIO, log: Logger): void {
  // CFQ's blkio.weight is gone from current kernels; BFQ's takes its place.
  const weightFile = hasFile(dir, 'blkio.weight') ? 'blkio.weight' : hasFile(dir, 'blkio.bfq.weight') ? 'blkio.bfq.weight' : undefined;
  const weightDevFile = hasFile(dir, 'blkio.weight_device') ? 'blkio.weight_device'
    : hasFile(dir, 'blkio.bfq.weight_device') ? 'blkio.bfq.weight_device' : undefined;
  if (set(b.weight)) {
    if (!weightFile) throw unavailable(`cannot set block io weight ${b.weight}: no io scheduler with weights (${dir})`);
    writeFile(dir, weightFile, b.weight);
  }
  if (set(b.leafWeight)) {
    if (hasFile(dir, 'blkio.leaf_weight')) writeFile(dir, 'blkio.leaf_weight', b.leafWeight);
    else log.warn('block io leaf weights are not supported by this kernel; ignoring blockIO.leafWeight', { dir });
  }
  for (const d of b.weightDevice ?? []) {
    if (set(d.weight)) {
      if (!weightDevFile) throw unavailable(`cannot set block io weight for device ${devNumber(d.major, d.minor)}: no io scheduler with weights (${dir})`);
      writeDeviceWeight(dir, weightDevFile, d.major, d.minor, d.weight);
    }
    if (set(d.leafWeight)) {
      if (hasFile(dir, 'blkio.leaf_weight_device')) writeFile(dir, 'blkio.leaf_weight_device', `${devNumber(d.major, d.minor)} ${d.leafWeight}`);
      else log.warn('block io leaf weights are not supported by this kernel; ignoring weightDevice.leafWeight', { dir });
    }
  }
  throttle(dir, 'blkio.throttle.read_bps_device', b.throttleReadBpsDevice);
  throttle(dir, 'blkio.throttle.write_bps_device', b.throttleWriteBpsDevice);
  throttle(dir, 'blkio.throttle.read_iops_device', b.throttleReadIOPSDevice);
  throttle(dir, 'blkio.throttle.write_iops_device', b.throttleWriteIOPSDevice);
}

export function setHugetlb(dir: string | undefined, limits: LinuxHugepageLimit[], fileSuffix: 'limit_in_bytes' | 'max'): void {
  for (const h of limits) {
    if (dir === undefined) throw unavailable(`cannot set the ${h.pageSize} hugepage limit: the hugetlb cgroup controller is not available`);
    if (!/^\d+[KMG]B$/.test(h.pageSize)) throw invalidArgument(`invalid hugepage size ${JSON.stringify(h.pageSize)}`);
    const file = `hugetlb.${h.pageSize}.${fileSuffix}`;
    if (!hasFile(dir, file)) throw invalidArgument(`cannot set the ${h.pageSize} hugepage limit: this kernel has no ${h.pageSize} huge pages`);
    writeFile(dir, file, fileSuffix === 'max' && h.limit === -1 ? 'max' : h.limit);
  }
}

/** One devices.allow/deny line per entry (a typed "a" rule with numbers becomes a c and a b rule). */
export function v1DeviceLines(rule: LinuxDeviceCgroup): string[] {
  const type = rule.type ?? 'a';
  if (!['a', 'c', 'b'].includes(type)) throw invalidArgument(`invalid device cgroup rule type ${JSON.stringify(type)}`);
  const access = normalizeAccess(rule.access);
  const num = (n: number | undefined): string => (n === undefined || n === -1 ? '*' : String(n));
  const nums = `${num(rule.major)}:${num(rule.minor)}`;
  // The kernel reads a bare "a" as every device with every access, whatever follows.
  if (type === 'a') return nums === '*:*' && access === 'rwm' ? ['a'] : [`c ${nums} ${access}`, `b ${nums} ${access}`];
  return [`${type} ${nums} ${access}`];
}

export function normalizeAccess(access: string | undefined): string {
  const a = access ?? 'rwm';
  if (a === '') return 'rwm';
  if (!/^[rwm]+$/.test(a)) throw invalidArgument(`invalid device cgroup access ${JSON.stringify(a)}: use r, w and m`);
  return ['r', 'w', 'm'].filter((c) => a.includes(c)).join('');
}

/** Emulates "deny everything, then each rule in order". */
export function setDevices(dir: string, rules: LinuxDeviceCgroup[]): void {
  const lines = rules.map((r) => ({ allow: r.allow, lines: v1DeviceLines(r) }));
  writeFile(dir, 'devices.deny', 'a');
  for (const r of lines) for (const l of r.lines) writeFile(dir, r.allow ? 'devices.allow' : 'devices.deny', l);
}

export function setNetwork(clsDir: string | undefined, prioDir: string | undefined, n: LinuxNetwork): void {
  if (n.classID !== undefined) {
    if (clsDir === undefined) throw unavailable('cannot set network class id: the net_cls cgroup controller is not mounted');
    writeFile(clsDir, 'net_cls.classid', n.classID);
  }
  for (const p of n.priorities ?? []) {
    if (prioDir === undefined) throw unavailable('cannot set network priorities: the net_prio cgroup controller is not mounted');
    writeFile(prioDir, 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
  }
}
