/**
 * The OCI runtime-spec 1.2 config (config.md, config-linux.md), Linux only:
 * Windows, Solaris, VM and z/OS sections are not described and are kept
 * untouched, like every other property Berth does not know (the spec says a
 * runtime must ignore unknown properties).
 *
 * 64-bit integers: fields the spec types as uint64/int64 are `Int64` —
 * a `number` when the value is a safe JS integer, a `bigint` when it is not
 * (see json.ts). Use `toBigInt` from ints.ts when the exact value matters.
 * Where the spec says so, -1 means "unlimited" (memory limits, pids, quota).
 */

/** uint64 or int64 from the config: exact, whatever its size. */
export type Int64 = number | bigint;

export interface Spec {
  ociVersion: string;
  root?: Root;
  mounts?: Mount[];
  process?: Process;
  hostname?: string;
  domainname?: string;
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Root {
  /** absolute, or relative to the bundle */
  path: string;
  readonly?: boolean;
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Mount {
  /** absolute inside the container (a relative one is made absolute by validateSpec) */
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface Process {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  cwd: string;
  env?: string[];
  args?: string[];
  commandLine?: string;
  rlimits?: Rlimit[];
  apparmorProfile?: string;
  capabilities?: Capabilities;
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: IoPriority;
  execCPUAffinity?: { initial?: string; final?: string };
  user: User;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface Rlimit {
  type: string;
  soft: Int64;
  hard: Int64;
}

export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export type SchedulerPolicy =
  | 'SCHED_OTHER' | 'SCHED_FIFO' | 'SCHED_RR' | 'SCHED_BATCH' | 'SCHED_ISO' | 'SCHED_IDLE' | 'SCHED_DEADLINE';
export type SchedulerFlag =
  | 'SCHED_FLAG_RESET_ON_FORK' | 'SCHED_FLAG_RECLAIM' | 'SCHED_FLAG_DL_OVERRUN' | 'SCHED_FLAG_KEEP_POLICY'
  | 'SCHED_FLAG_KEEP_PARAMS' | 'SCHED_FLAG_UTIL_CLAMP_MIN' | 'SCHED_FLAG_UTIL_CLAMP_MAX';

export interface Scheduler {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: SchedulerFlag[];
  runtime?: Int64;
  deadline?: Int64;
  period?: Int64;
}

export interface IoPriority {
  class: 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';
  priority: number;
}

export interface Hook {
  /** absolute, in the runtime's mount namespace */
  path: string;
  args?: string[];
  env?: string[];
  /** seconds, > 0 */
  timeout?: number;
}

export interface Hooks {
  /** deprecated by the spec, still used by engines */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export type NamespaceTypeName = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface Namespace {
  type: NamespaceTypeName;
  /** join this namespace instead of creating one */
  path?: string;
}

export interface Device {
  type: 'c' | 'b' | 'u' | 'p';
  path: string;
  /** required unless type is "p" */
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface DeviceRule {
  allow: boolean;
  /** a (all), c or b; unset means all */
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  /** letters of "rwm" */
  access?: string;
}

export interface MemoryResources {
  limit?: Int64;
  reservation?: Int64;
  swap?: Int64;
  kernel?: Int64;
  kernelTCP?: Int64;
  swappiness?: Int64;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface CpuResources {
  shares?: Int64;
  quota?: Int64;
  burst?: Int64;
  period?: Int64;
  realtimeRuntime?: Int64;
  realtimePeriod?: Int64;
  cpus?: string;
  mems?: string;
  idle?: Int64;
}

export interface BlockIoDevice {
  major: number;
  minor: number;
}
export interface WeightDevice extends BlockIoDevice {
  weight?: number;
  leafWeight?: number;
}
export interface ThrottleDevice extends BlockIoDevice {
  rate: Int64;
}

export interface BlockIoResources {
  weight?: number;
  leafWeight?: number;
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

export interface HugepageLimit {
  /** "2MB", "1GB", "64KB" */
  pageSize: string;
  limit: Int64;
}

export interface NetworkResources {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}

export interface RdmaLimit {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface Resources {
  memory?: MemoryResources;
  cpu?: CpuResources;
  pids?: { limit: Int64 };
  blockIO?: BlockIoResources;
  hugepageLimits?: HugepageLimit[];
  network?: NetworkResources;
  rdma?: Record<string, RdmaLimit>;
  /** cgroup v2 file name → content */
  unified?: Record<string, string>;
  devices?: DeviceRule[];
}

export interface IntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  enableCMT?: boolean;
  enableMBM?: boolean;
}

export interface SeccompArg {
  /** 0 … 5 */
  index: number;
  value: Int64;
  valueTwo?: Int64;
  op: string;
}

export interface SeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface Seccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompSyscall[];
}

export interface TimeOffset {
  secs?: Int64;
  nanosecs?: number;
}

export type RootfsPropagation =
  | 'shared' | 'slave' | 'private' | 'unbindable' | 'rshared' | 'rslave' | 'rprivate' | 'runbindable';

export interface Linux {
  namespaces?: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /** clock name ("monotonic", "boottime") → offset */
  timeOffsets?: Record<string, TimeOffset>;
  devices?: Device[];
  cgroupsPath?: string;
  resources?: Resources;
  intelRdt?: IntelRdt;
  sysctl?: Record<string, string>;
  seccomp?: Seccomp;
  rootfsPropagation?: RootfsPropagation;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  personality?: { domain: 'LINUX' | 'LINUX32'; flags?: string[] };
}

/** A spec whose process is known to be present (what create and run need). */
export type SpecWithProcess = Spec & { process: Process };
