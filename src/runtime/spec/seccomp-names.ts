/**
 * The seccomp names the OCI config uses (libseccomp's spelling), with the
 * kernel values the BPF compiler needs. Shared by the validator, the
 * `features` command and the seccomp compiler (src/runtime/seccomp/).
 */

/** SCMP_ACT_* → the kernel's SECCOMP_RET_* action (low 16 bits: data, added later). */
export const SECCOMP_ACTIONS = {
  SCMP_ACT_KILL: 0x00000000, // SECCOMP_RET_KILL_THREAD
  SCMP_ACT_KILL_THREAD: 0x00000000, // SECCOMP_RET_KILL_THREAD
  SCMP_ACT_KILL_PROCESS: 0x80000000, // SECCOMP_RET_KILL_PROCESS
  SCMP_ACT_TRAP: 0x00030000, // SECCOMP_RET_TRAP
  SCMP_ACT_ERRNO: 0x00050000, // SECCOMP_RET_ERRNO
  SCMP_ACT_NOTIFY: 0x7fc00000, // SECCOMP_RET_USER_NOTIF
  SCMP_ACT_TRACE: 0x7ff00000, // SECCOMP_RET_TRACE
  SCMP_ACT_LOG: 0x7ffc0000, // SECCOMP_RET_LOG
  SCMP_ACT_ALLOW: 0x7fff0000, // SECCOMP_RET_ALLOW
} as const;
export type SeccompAction = keyof typeof SECCOMP_ACTIONS;
export const SECCOMP_ACTION_NAMES = Object.keys(SECCOMP_ACTIONS).sort() as SeccompAction[];

/** Actions whose data carries an errno (errnoRet / defaultErrnoRet allowed). */
export const SECCOMP_ERRNO_ACTIONS: readonly SeccompAction[] = ['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE'];

export const SECCOMP_OPERATORS = [
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_LE',
  'SCMP_CMP_LT',
  'SCMP_CMP_MASKED_EQ',
  'SCMP_CMP_NE',
] as const;
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];

/**
 * SCMP_ARCH_* → the kernel's AUDIT_ARCH_* value (linux/audit.h), which the
 * filter compares against seccomp_data.arch. X32 shares x86_64's audit arch
 * and is told apart by the __X32_SYSCALL_BIT in the syscall number.
 */
export const SECCOMP_ARCHES = {
  SCMP_ARCH_X86: 0x40000003,
  SCMP_ARCH_X86_64: 0xc000003e,
  SCMP_ARCH_X32: 0xc000003e,
  SCMP_ARCH_ARM: 0x40000028,
  SCMP_ARCH_AARCH64: 0xc00000b7,
  SCMP_ARCH_MIPS: 0x00000008,
  SCMP_ARCH_MIPS64: 0x80000008,
  SCMP_ARCH_MIPS64N32: 0xa0000008,
  SCMP_ARCH_MIPSEL: 0x40000008,
  SCMP_ARCH_MIPSEL64: 0xc0000008,
  SCMP_ARCH_MIPSEL64N32: 0xe0000008,
  SCMP_ARCH_PPC: 0x00000014,
  SCMP_ARCH_PPC64: 0x80000015,
  SCMP_ARCH_PPC64LE: 0xc0000015,
  SCMP_ARCH_S390: 0x00000016,
  SCMP_ARCH_S390X: 0x80000016,
  SCMP_ARCH_PARISC: 0x0000000f,
  SCMP_ARCH_PARISC64: 0x8000000f,
  SCMP_ARCH_RISCV64: 0xc00000f3,
  SCMP_ARCH_LOONGARCH64: 0xc0000102,
  SCMP_ARCH_M68K: 0x00000004,
  SCMP_ARCH_SH: 0x4000002a, // little-endian SuperH (AUDIT_ARCH_SHEL)
  SCMP_ARCH_SHEB: 0x0000002a, // big-endian SuperH (AUDIT_ARCH_SH)
} as const;
export type SeccompArch = keyof typeof SECCOMP_ARCHES;
export const SECCOMP_ARCH_NAMES = Object.keys(SECCOMP_ARCHES).sort() as SeccompArch[];

/** SECCOMP_FILTER_FLAG_* → the flag bit for seccomp(SECCOMP_SET_MODE_FILTER). */
export const SECCOMP_FLAGS = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
} as const;
export type SeccompFlag = keyof typeof SECCOMP_FLAGS;
export const SECCOMP_FLAG_NAMES = Object.keys(SECCOMP_FLAGS) as SeccompFlag[];

/**
 * Flags Berth applies. TSYNC is known but not offered: the container's
 * process is single-threaded when the filter loads, so it changes nothing.
 */
export const SECCOMP_SUPPORTED_FLAGS: readonly SeccompFlag[] = [
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
];

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
export const isSeccompAction = (s: string): s is SeccompAction => has(SECCOMP_ACTIONS, s);
export const isSeccompArch = (s: string): s is SeccompArch => has(SECCOMP_ARCHES, s);
export const isSeccompFlag = (s: string): s is SeccompFlag => has(SECCOMP_FLAGS, s);
export const isSeccompOperator = (s: string): s is SeccompOperator => (SECCOMP_OPERATORS as readonly string[]).includes(s);
