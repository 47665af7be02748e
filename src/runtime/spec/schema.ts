/**
 * The zod schema of the OCI 1.2 config (Linux). It checks shape, integer
 * ranges and the closed vocabularies (namespace types, seccomp names …);
 * rules that relate fields to each other live in checks.ts.
 *
 * Every object is loose: unknown properties are kept and never an error.
 * Messages are the part after "<field path>: " in validateSpec's error, so
 * they are lowercase and do not name the field.
 */
import { z } from 'zod';
import type { Spec } from './types.js';
import { I64_MAX, I64_MIN, U64_MAX } from './ints.js';
import { isNamespaceType } from './namespaces.js';
import { isRlimitName } from './rlimits.js';
import { isSeccompAction, isSeccompArch, isSeccompFlag, isSeccompOperator } from './seccomp-names.js';

// ── integers ────────────────────────────────────────────────────────────────

function intIn(min: number, max: number, what: string) {
  return z.custom<number>((v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max, {
    error: `must be ${what}`,
  });
}

/** uint64/int64: a number, or a bigint when parseJson met a big literal. */
function int64In(min: bigint, max: bigint, what: string) {
  return z.custom<number | bigint>((v) => {
    if (typeof v === 'bigint') return v >= min && v <= max;
    return typeof v === 'number' && Number.isSafeInteger(v) && BigInt(v) >= min && BigInt(v) <= max;
  }, { error: `must be ${what}` });
}

const u32 = () => intIn(0, 0xffffffff, 'an unsigned 32-bit integer');
const i32 = () => intIn(-0x80000000, 0x7fffffff, 'a 32-bit integer');
const u16 = () => intIn(0, 0xffff, 'an unsigned 16-bit integer');
/** Go's `int`/`uint` on 64-bit hosts, kept to JS safe integers (no real value needs more). */
const int = () => intIn(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'an integer');
const uint = () => intIn(0, Number.MAX_SAFE_INTEGER, 'an unsigned integer');
const u64 = () => int64In(0n, U64_MAX, 'an unsigned 64-bit integer');
const i64 = () => int64In(I64_MIN, I64_MAX, 'a 64-bit integer');

// ── vocabularies ────────────────────────────────────────────────────────────

function oneOf<T extends string>(values: readonly T[], what: string) {
  const set = new Set<string>(values);
  return z.string().refine((v): v is T => set.has(v), {
    error: (iss) => `unknown ${what} ${JSON.stringify(iss.input)}`,
  }) as unknown as z.ZodType<T>;
}

function named<T extends string>(test: (s: string) => s is T, what: string) {
  return z.string().refine(test, {
    error: (iss) => `unknown ${what} ${JSON.stringify(iss.input)}`,
  }) as unknown as z.ZodType<T>;
}

const strings = () => z.array(z.string());
const stringMap = () => z.record(z.string(), z.string());

// ── config.md ───────────────────────────────────────────────────────────────

const idMapping = z.looseObject({ containerID: u32(), hostID: u32(), size: u32() });

const root = z.looseObject({ path: z.string(), readonly: z.boolean().optional() });

const mount = z.looseObject({
  destination: z.string(),
  type: z.string().optional(),
  source: z.string().optional(),
  options: strings().optional(),
  uidMappings: z.array(idMapping).optional(),
  gidMappings: z.array(idMapping).optional(),
});

const rlimit = z.looseObject({ type: named(isRlimitName, 'rlimit type'), soft: u64(), hard: u64() });

const capabilities = z.looseObject({
  bounding: strings().optional(),
  effective: strings().optional(),
  inheritable: strings().optional(),
  permitted: strings().optional(),
  ambient: strings().optional(),
});

const scheduler = z.looseObject({
  policy: oneOf(['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE'] as const, 'scheduler policy'),
  nice: i32().optional(),
  priority: i32().optional(),
  flags: z.array(oneOf([
    'SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_RECLAIM', 'SCHED_FLAG_DL_OVERRUN', 'SCHED_FLAG_KEEP_POLICY',
    'SCHED_FLAG_KEEP_PARAMS', 'SCHED_FLAG_UTIL_CLAMP_MIN', 'SCHED_FLAG_UTIL_CLAMP_MAX',
  ] as const, 'scheduler flag')).optional(),
  runtime: u64().optional(),
  deadline: u64().optional(),
  period: u64().optional(),
});

const user = z.looseObject({
  uid: u32(),
  gid: u32(),
  umask: u32().optional(),
  additionalGids: z.array(u32()).optional(),
});

export const processSchema = z.looseObject({
  terminal: z.boolean().optional(),
  consoleSize: z.looseObject({ height: uint(), width: uint() }).optional(),
  cwd: z.string(),
  env: strings().optional(),
  args: strings().optional(),
  commandLine: z.string().optional(),
  rlimits: z.array(rlimit).optional(),
  apparmorProfile: z.string().optional(),
  capabilities: capabilities.optional(),
  noNewPrivileges: z.boolean().optional(),
  oomScoreAdj: intIn(-1000, 1000, 'an integer from -1000 to 1000').optional(),
  scheduler: scheduler.optional(),
  selinuxLabel: z.string().optional(),
  ioPriority: z.looseObject({
    class: oneOf(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE'] as const, 'I/O priority class'),
    priority: intIn(0, 7, 'an integer from 0 to 7'),
  }).optional(),
  execCPUAffinity: z.looseObject({ initial: z.string().optional(), final: z.string().optional() }).optional(),
  user,
});

const hook = z.looseObject({
  path: z.string(),
  args: strings().optional(),
  env: strings().optional(),
  timeout: intIn(1, Number.MAX_SAFE_INTEGER, 'a number of seconds greater than zero').optional(),
});

const hooks = z.looseObject({
  prestart: z.array(hook).optional(),
  createRuntime: z.array(hook).optional(),
  createContainer: z.array(hook).optional(),
  startContainer: z.array(hook).optional(),
  poststart: z.array(hook).optional(),
  poststop: z.array(hook).optional(),
});

// ── config-linux.md ─────────────────────────────────────────────────────────

const namespace = z.looseObject({
  type: named(isNamespaceType, 'namespace type'),
  path: z.string().optional(),
});

const device = z.looseObject({
  type: oneOf(['c', 'b', 'u', 'p'] as const, 'device type'),
  path: z.string(),
  // int64 in the spec; real device numbers are 12 (major) and 20 (minor) bits
  major: u32().optional(),
  minor: u32().optional(),
  fileMode: u32().optional(),
  uid: u32().optional(),
  gid: u32().optional(),
});

const deviceRule = z.looseObject({
  allow: z.boolean(),
  type: oneOf(['a', 'c', 'b'] as const, 'device rule type').optional(),
  // -1 is accepted as "any", as some engines write it
  major: intIn(-1, 0xffffffff, 'a device number or -1').optional(),
  minor: intIn(-1, 0xffffffff, 'a device number or -1').optional(),
  access: z.string().regex(/^[rwm]*$/, { error: 'must be letters of "rwm"' }).optional(),
});

const memory = z.looseObject({
  limit: i64().optional(),
  reservation: i64().optional(),
  swap: i64().optional(),
  kernel: i64().optional(),
  kernelTCP: i64().optional(),
  swappiness: u64().optional(),
  disableOOMKiller: z.boolean().optional(),
  useHierarchy: z.boolean().optional(),
  checkBeforeUpdate: z.boolean().optional(),
});

const cpu = z.looseObject({
  shares: u64().optional(),
  quota: i64().optional(),
  burst: u64().optional(),
  period: u64().optional(),
  realtimeRuntime: i64().optional(),
  realtimePeriod: u64().optional(),
  cpus: z.string().optional(),
  mems: z.string().optional(),
  idle: i64().optional(),
});

const blockDevice = { major: u32(), minor: u32() };
const throttle = z.array(z.looseObject({ ...blockDevice, rate: u64() }));

const blockIO = z.looseObject({
  weight: u16().optional(),
  leafWeight: u16().optional(),
  weightDevice: z.array(z.looseObject({ ...blockDevice, weight: u16().optional(), leafWeight: u16().optional() })).optional(),
  throttleReadBpsDevice: throttle.optional(),
  throttleWriteBpsDevice: throttle.optional(),
  throttleReadIOPSDevice: throttle.optional(),
  throttleWriteIOPSDevice: throttle.optional(),
});

const resources = z.looseObject({
  memory: memory.optional(),
  cpu: cpu.optional(),
  pids: z.looseObject({ limit: i64() }).optional(),
  blockIO: blockIO.optional(),
  hugepageLimits: z.array(z.looseObject({
    pageSize: z.string().regex(/^\d+[KMGTPE]?B$/, { error: 'must be a size such as "2MB" or "1GB"' }),
    limit: u64(),
  })).optional(),
  network: z.looseObject({
    classID: u32().optional(),
    priorities: z.array(z.looseObject({ name: z.string(), priority: u32() })).optional(),
  }).optional(),
  rdma: z.record(z.string(), z.looseObject({ hcaHandles: u32().optional(), hcaObjects: u32().optional() })).optional(),
  unified: stringMap().optional(),
  devices: z.array(deviceRule).optional(),
});

const seccompArg = z.looseObject({
  index: intIn(0, 5, 'an argument index from 0 to 5'),
  value: u64(),
  valueTwo: u64().optional(),
  op: named(isSeccompOperator, 'seccomp operator'),
});

const seccomp = z.looseObject({
  defaultAction: named(isSeccompAction, 'seccomp action'),
  defaultErrnoRet: u32().optional(),
  architectures: z.array(named(isSeccompArch, 'seccomp architecture')).optional(),
  flags: z.array(named(isSeccompFlag, 'seccomp flag')).optional(),
  listenerPath: z.string().optional(),
  listenerMetadata: z.string().optional(),
  syscalls: z.array(z.looseObject({
    names: strings().min(1),
    action: named(isSeccompAction, 'seccomp action'),
    errnoRet: u32().optional(),
    args: z.array(seccompArg).optional(),
  })).optional(),
});

const linux = z.looseObject({
  namespaces: z.array(namespace).optional(),
  uidMappings: z.array(idMapping).optional(),
  gidMappings: z.array(idMapping).optional(),
  timeOffsets: z.record(z.string(), z.looseObject({ secs: i64().optional(), nanosecs: u32().optional() })).optional(),
  devices: z.array(device).optional(),
  cgroupsPath: z.string().optional(),
  resources: resources.optional(),
  intelRdt: z.looseObject({
    closID: z.string().optional(),
    l3CacheSchema: z.string().optional(),
    memBwSchema: z.string().optional(),
    enableCMT: z.boolean().optional(),
    enableMBM: z.boolean().optional(),
  }).optional(),
  sysctl: stringMap().optional(),
  seccomp: seccomp.optional(),
  rootfsPropagation: oneOf(
    ['shared', 'slave', 'private', 'unbindable', 'rshared', 'rslave', 'rprivate', 'runbindable'] as const,
    'rootfs propagation',
  ).optional(),
  maskedPaths: strings().optional(),
  readonlyPaths: strings().optional(),
  mountLabel: z.string().optional(),
  personality: z.looseObject({
    domain: oneOf(['LINUX', 'LINUX32'] as const, 'personality domain'),
    flags: strings().optional(),
  }).optional(),
});

export const specSchema = z.looseObject({
  ociVersion: z.string(),
  root: root.optional(),
  mounts: z.array(mount).optional(),
  process: processSchema.optional(),
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  hooks: hooks.optional(),
  annotations: stringMap().optional(),
  linux: linux.optional(),
});

/** Compile-time proof that the schema's output is a Spec (types.ts). */
type Assert<T extends true> = T;
export type SchemaMatchesTypes = Assert<z.output<typeof specSchema> extends Spec ? true : false>;
