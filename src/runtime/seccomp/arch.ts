/**
 * The architectures a seccomp profile can name: their AUDIT_ARCH value (what
 * seccomp_data.arch says) and, where Berth has one, their syscall table.
 */
import { AUDIT_ARCH, SYSCALLS_AARCH64, SYSCALLS_X32, SYSCALLS_X86, SYSCALLS_X86_64, X32_SYSCALL_BIT } from './syscalls.generated.js';

export interface ArchInfo {
  /** The OCI/libseccomp name, e.g. SCMP_ARCH_X86_64. */
  name: string;
  /** seccomp_data.arch; x32 shares x86_64's value and is told apart by X32_SYSCALL_BIT. */
  audit: number;
  /** name → number, or undefined when Berth has no table for it. */
  table: Readonly<Record<string, number>> | undefined;
  /** Arguments are 32 bits wide: only the low half of seccomp_data.args[i] is compared. */
  bits32: boolean;
}

const A = (k: string): number => AUDIT_ARCH[k]!;

const ARCHES: readonly ArchInfo[] = [
  { name: 'SCMP_ARCH_X86_64', audit: A('X86_64'), table: SYSCALLS_X86_64, bits32: false },
  { name: 'SCMP_ARCH_X86', audit: A('I386'), table: SYSCALLS_X86, bits32: true },
  { name: 'SCMP_ARCH_X32', audit: A('X86_64'), table: SYSCALLS_X32, bits32: false },
  { name: 'SCMP_ARCH_AARCH64', audit: A('AARCH64'), table: SYSCALLS_AARCH64, bits32: false },
  { name: 'SCMP_ARCH_ARM', audit: A('ARM'), table: undefined, bits32: true },
  { name: 'SCMP_ARCH_MIPS', audit: A('MIPS'), table: undefined, bits32: true },
  { name: 'SCMP_ARCH_MIPS64', audit: A('MIPS64'), table: undefined, bits32: false },
  { name: 'SCMP_ARCH_MIPS64N32', audit: A('MIPS64N32'), table: undefined, bits32: true },
  { name: 'SCMP_ARCH_MIPSEL', audit: A('MIPSEL'), table: undefined, bits32: true },
  { name: 'SCMP_ARCH_MIPSEL64', audit: A('MIPSEL64'), table: undefined, bits32: false },
  { name: 'SCMP_ARCH_MIPSEL64N32', audit: A('MIPSEL64N32'), table: undefined, bits32: true },
  { name: 'SCMP_ARCH_PPC', audit: A('PPC'), table: undefined, bits32: true },
  { name: 'SCMP_ARCH_PPC64', audit: A('PPC64'), table: undefined, bits32: false },
  { name: 'SCMP_ARCH_PPC64LE', audit: A('PPC64LE'), table: undefined, bits32: false },
  { name: 'SCMP_ARCH_S390', audit: A('S390'), table: undefined, bits32: true },
  { name: 'SCMP_ARCH_S390X', audit: A('S390X'), table: undefined, bits32: false },
  { name: 'SCMP_ARCH_PARISC', audit: A('PARISC'), table: undefined, bits32: true },
  { name: 'SCMP_ARCH_PARISC64', audit: A('PARISC64'), table: undefined, bits32: false },
  { name: 'SCMP_ARCH_RISCV64', audit: A('RISCV64'), table: undefined, bits32: false },
  { name: 'SCMP_ARCH_LOONGARCH64', audit: A('LOONGARCH64'), table: undefined, bits32: false },
  { name: 'SCMP_ARCH_M68K', audit: A('M68K'), table: undefined, bits32: true },
  { name: 'SCMP_ARCH_SH', audit: A('SHEL'), table: undefined, bits32: true },
  { name: 'SCMP_ARCH_SHEB', audit: A('SH'), table: undefined, bits32: true },
];

const BY_NAME = new Map(ARCHES.map((a) => [a.name, a]));

export { X32_SYSCALL_BIT };

export function archByName(name: string): ArchInfo | undefined {
  return BY_NAME.get(name);
}

/** Names accepted for the native architecture: SCMP_ARCH_*, Node's process.arch, uname -m. */
const NATIVE_ALIASES: Readonly<Record<string, string>> = {
  x64: 'SCMP_ARCH_X86_64',
  x86_64: 'SCMP_ARCH_X86_64',
  amd64: 'SCMP_ARCH_X86_64',
  ia32: 'SCMP_ARCH_X86',
  x86: 'SCMP_ARCH_X86',
  i386: 'SCMP_ARCH_X86',
  i686: 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  aarch64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  riscv64: 'SCMP_ARCH_RISCV64',
  s390x: 'SCMP_ARCH_S390X',
  ppc64: 'SCMP_ARCH_PPC64LE',
  loong64: 'SCMP_ARCH_LOONGARCH64',
};

/** The SCMP_ARCH_* name of `arch` (default: the machine Node runs on), or undefined if unknown. */
export function nativeArchName(arch: string = process.arch): string | undefined {
  if (BY_NAME.has(arch)) return arch;
  return NATIVE_ALIASES[arch];
}

/** Looks a syscall name up without tripping over Object.prototype members. */
export function syscallNumber(arch: ArchInfo, name: string): number | undefined {
  const t = arch.table;
  return t !== undefined && Object.hasOwn(t, name) ? t[name] : undefined;
}
