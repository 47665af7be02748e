/**
 * Writing LinuxResources into one cgroup v2 directory. The OCI fields are in
 * v1 terms; convert.ts has the unit conversions.
 */
import { failedPrecondition, invalidArgument, unavailable } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { blkioWeightToIoWeight, cpuMax, devNumber, sharesToWeight, swapToV2, v2Limit } from './convert.js';
import { hasFile, readNumber, readOptional, writeFile } from './files.js';
import type { LinuxBlockIO, LinuxCPU, LinuxMemory, LinuxRdma, LinuxResources, LinuxThrottleDevice } from './types.js';
import { pidsMax, setHugetlb, writeDeviceWeight } from './v1-resources.js';

const set = (n: number | undefined): n is number => n !== undefined && n !== 0;

/** The controllers the resources need enabled in the cgroup. */
export function neededControllers(r: LinuxResources): string[] {
  const need = new Set<string>();
  const m = r.memory;
  if (m && (set(m.limit) || set(m.reservation) || set(m.swap))) need.add('memory');
  const c = r.cpu;
  if (c && [c.shares, c.quota, c.period, c.burst, c.idle].some((v) => v !== undefined)) need.add('cpu');
  if (c && (c.cpus || c.mems)) need.add('cpuset');
  if (r.pids) need.add('pids');
  const b = r.blockIO;
  if (b && (set(b.weight) || [b.weightDevice, b.throttleReadBpsDevice, b.throttleWriteBpsDevice,
    b.throttleReadIOPSDevice, b.throttleWriteIOPSDevice].some((l) => l && l.length > 0))) need.add('io');
  if (r.hugepageLimits && r.hugepageLimits.length > 0) need.add('hugetlb');
  if (r.rdma && Object.keys(r.rdma).length > 0) need.add('rdma');
  for (const key of Object.keys(r.unified ?? {})) {
    checkUnifiedName(key);
    const ctrl = key.split('.')[0] as string;
    if (ctrl !== 'cgroup') need.add(ctrl);
  }
  return [...need];
}

export function setMemoryV2(dir: string, m: LinuxMemory, log: Logger): void {
  let swap = m.swap;
  if (m.limit === -1 && !set(swap)) swap = -1;
  const swapMax = swapToV2(swap, m.limit);
  if (m.checkBeforeUpdate && m.limit !== undefined && m.limit > 0) {
    const usage = readNumber(dir, 'memory.current');
    if (m.limit < usage) throw failedPrecondition(`cannot set memory limit ${m.limit}: lower than the current usage ${usage} of ${dir}`);
  }
  if (set(m.limit)) writeFile(dir, 'memory.max', v2Limit(m.limit));
  if (swapMax !== undefined) {
    if (!hasFile(dir, 'memory.swap.max')) {
      if (swapMax !== 'max') throw unavailable(`cannot set memory+swap limit ${swap}: swap accounting is disabled in this kernel`);
    } else {
      writeFile(dir, 'memory.swap.max', swapMax);
    }
  }
  if (set(m.reservation)) writeFile(dir, 'memory.low', v2Limit(m.reservation));
  if (set(m.kernel)) log.warn('kernel memory limits do not exist in cgroup v2; ignoring memory.kernel', { dir });
  if (set(m.kernelTCP)) log.warn('kernel TCP memory limits do not exist in cgroup v2; ignoring memory.kernelTCP', { dir });
  if (m.swappiness !== undefined && m.swappiness !== -1) log.warn('swappiness does not exist in cgroup v2; ignoring memory.swappiness', { dir });
  if (m.disableOOMKiller) log.warn('the OOM killer cannot be disabled in cgroup v2; ignoring memory.disableOOMKiller', { dir });
}

export function setCpuV2(dir: string, c: LinuxCPU): void {
  if (set(c.realtimePeriod) || set(c.realtimeRuntime)) {
    throw unavailable('cannot set realtime cpu limits: cgroup v2 has no realtime group scheduling');
  }
  if (set(c.shares)) {
    if (c.shares < 2 || c.shares > 262144) throw invalidArgument(`invalid cpu shares ${c.shares}: must be between 2 and 262144`);
    writeFile(dir, 'cpu.weight', sharesToWeight(c.shares));
  }
  if (c.quota !== undefined || set(c.period)) {
    writeFile(dir, 'cpu.max', cpuMax(c.quota, c.period, readOptional(dir, 'cpu.max') ?? 'max 100000'));
  }
  if (c.burst !== undefined) writeFile(dir, 'cpu.max.burst', c.burst);
  if (c.idle !== undefined) writeFile(dir, 'cpu.idle', c.idle);
  if (c.cpus) writeFile(dir, 'cpuset.cpus', c.cpus);
  if (c.mems) writeFile(dir, 'cpuset.mems', c.mems);
}

export function setPidsV2(dir: string, limit: number): void {
  writeFile(dir, 'pids.max', pidsMax(limit));
}

function ioMax(dir: string, key: string, list: LinuxThrottleDevice[] | undefined): void {
  for (const d of list ?? []) writeFile(dir, 'io.max', `${devNumber(d.major, d.minor)} ${key}=${d.rate}`);
}

export function setIo(dir: string, b: LinuxBlockIO, log: Logger): void {
  // BFQ takes v1's weights unchanged; io.weight has its own scale.
  const bfq = hasFile(dir, 'io.bfq.weight');
  if (set(b.weight)) {
    if (bfq) writeFile(dir, 'io.bfq.weight', b.weight);
    else writeFile(dir, 'io.weight', `default ${blkioWeightToIoWeight(b.weight)}`);
  }
  if (set(b.leafWeight)) log.warn('block io leaf weights do not exist in cgroup v2; ignoring blockIO.leafWeight', { dir });
  for (const d of b.weightDevice ?? []) {
    if (!set(d.weight)) continue;
    if (bfq) writeDeviceWeight(dir, 'io.bfq.weight', d.major, d.minor, d.weight);
    else writeDeviceWeight(dir, 'io.weight', d.major, d.minor, blkioWeightToIoWeight(d.weight));
  }
  ioMax(dir, 'rbps', b.throttleReadBpsDevice);
  ioMax(dir, 'wbps', b.throttleWriteBpsDevice);
  ioMax(dir, 'riops', b.throttleReadIOPSDevice);
  ioMax(dir, 'wiops', b.throttleWriteIOPSDevice);
}

export function setRdma(dir: string, rdma: Record<string, LinuxRdma>): void {
  for (const [device, l] of Object.entries(rdma)) {
    if (/\s/.test(device) || device === '') throw invalidArgument(`invalid rdma device name ${JSON.stringify(device)}`);
    const parts = [device];
    if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
    if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
    if (parts.length > 1) writeFile(dir, 'rdma.max', parts.join(' '));
  }
}

/** The `unified` map: each key is a file of the cgroup, written as is. */
function checkUnifiedName(key: string): void {
  if (key.includes('/') || key.includes('..') || key === '' || key.includes('\0') || !key.includes('.')) {
    throw invalidArgument(`invalid unified resource ${JSON.stringify(key)}: not a cgroup file name`);
  }
}

export function setUnified(dir: string, unified: Record<string, string>, enabled: Set<string>): void {
  for (const [key, value] of Object.entries(unified)) {
    checkUnifiedName(key);
    const ctrl = key.split('.')[0] as string;
    if (ctrl !== 'cgroup' && !enabled.has(ctrl)) {
      throw unavailable(`cannot set unified resource ${key}: cgroup v2 controller ${ctrl} is not enabled in ${dir}`);
    }
    if (!hasFile(dir, key)) throw invalidArgument(`cannot set unified resource ${key}: ${dir} has no such file`);
    writeFile(dir, key, value);
  }
}

export function setHugetlbV2(dir: string, r: LinuxResources): void {
  if (r.hugepageLimits && r.hugepageLimits.length > 0) setHugetlb(dir, r.hugepageLimits, 'max');
}
