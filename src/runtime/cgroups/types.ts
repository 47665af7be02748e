/**
 * The cgroup half of the OCI runtime-spec 1.2 (config-linux.md "Control
 * groups"), as the cgroup drivers read it, and the statistics they return.
 * Field names follow the spec's JSON so a parsed config.json can be passed
 * as is. Numbers that the spec declares uint64 may in theory exceed 2^53;
 * cgroup limits in practice stay far below, so plain numbers are used here.
 */

export interface LinuxMemory {
  /** bytes; -1 = unlimited */
  limit?: number;
  /** soft limit, bytes */
  reservation?: number;
  /** memory + swap, bytes (v1 semantics; converted for v2); -1 = unlimited */
  swap?: number;
  /** kernel memory limit: deprecated, ignored with a warning */
  kernel?: number;
  /** kernel TCP buffer limit (v1 only) */
  kernelTCP?: number;
  /** 0-100 (v1 only) */
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  /** refuse a new limit lower than the current usage */
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  /** microseconds per period; -1 or 0 with a period = no limit */
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxPids {
  /** ≤ 0 means no limit */
  limit: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** "2MB", "1GB" … as in hugetlb.<pageSize>.limit_in_bytes */
  pageSize: string;
  limit: number;
}

export interface LinuxDeviceCgroup {
  allow: boolean;
  /** a (all), c (char), b (block); default a */
  type?: string;
  /** -1 or absent = any */
  major?: number;
  minor?: number;
  /** some of r, w, m; default rwm */
  access?: string;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  /** device name → limits */
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 file name → value, written as is */
  unified?: Record<string, string>;
}

// ---- statistics, shaped like the data of `runc events --stats` ----

export interface CpuUsage {
  /** nanoseconds */
  total: number;
  percpu: number[];
  percpuKernel: number[];
  percpuUser: number[];
  kernel: number;
  user: number;
}

export interface CpuThrottling {
  periods: number;
  throttledPeriods: number;
  /** nanoseconds */
  throttledTime: number;
}

export interface MemoryEntry {
  limit: number;
  usage: number;
  max: number;
  failcnt: number;
}

export interface MemoryStats {
  cache: number;
  usage: MemoryEntry;
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  /** memory.stat as read */
  raw: Record<string, number>;
}

export interface PidsStats {
  current: number;
  /** 0 = no limit */
  limit: number;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  /** Read, Write, Sync, Async, Discard, Total (v1 names) */
  op: string;
  value: number;
}

export interface BlkioStats {
  ioServiceBytesRecursive: BlkioEntry[];
  ioServicedRecursive: BlkioEntry[];
  ioQueuedRecursive: BlkioEntry[];
  ioServiceTimeRecursive: BlkioEntry[];
  ioWaitTimeRecursive: BlkioEntry[];
  ioMergedRecursive: BlkioEntry[];
  ioTimeRecursive: BlkioEntry[];
  sectorsRecursive: BlkioEntry[];
}

export interface HugetlbStats {
  usage: number;
  max: number;
  failcnt: number;
}

export interface CgroupStats {
  cpu: { usage: CpuUsage; throttling: CpuThrottling };
  memory: MemoryStats;
  pids: PidsStats;
  blkio: BlkioStats;
  /** page size ("2MB") → usage */
  hugetlb: Record<string, HugetlbStats>;
}

export function emptyStats(): CgroupStats {
  const entry = (): MemoryEntry => ({ limit: 0, usage: 0, max: 0, failcnt: 0 });
  return {
    cpu: {
      usage: { total: 0, percpu: [], percpuKernel: [], percpuUser: [], kernel: 0, user: 0 },
      throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 },
    },
    memory: { cache: 0, usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry(), raw: {} },
    pids: { current: 0, limit: 0 },
    blkio: {
      ioServiceBytesRecursive: [], ioServicedRecursive: [], ioQueuedRecursive: [], ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [], ioMergedRecursive: [], ioTimeRecursive: [], sectorsRecursive: [],
    },
    hugetlb: {},
  };
}
