/**
 * Linux capability names and numbers, as in linux/capability.h (0 … 40,
 * CAP_LAST_CAP = CAP_CHECKPOINT_RESTORE on the kernels Berth supports).
 * The order of the table is the kernel's, so index = capability number.
 */
import { invalidArgument } from '../../common/errors.js';

export const CAPABILITY_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

/** The highest capability number Berth knows (CAP_LAST_CAP). */
export const CAP_LAST_CAP = CAPABILITY_NAMES.length - 1;

const byName: ReadonlyMap<string, number> = new Map(CAPABILITY_NAMES.map((n, i) => [n, i]));

/**
 * The number of a capability given as "CAP_X", "X" or "cap_x" (the forms
 * `exec --cap` and the spec accept), or undefined when unknown.
 */
export function capabilityNumber(name: string): number | undefined {
  const upper = name.trim().toUpperCase();
  return byName.get(upper.startsWith('CAP_') ? upper : `CAP_${upper}`);
}

/** Like capabilityNumber, but an unknown name is an error. */
export function parseCapability(name: string): number {
  const n = capabilityNumber(name);
  if (n === undefined) throw invalidArgument(`unknown capability "${name}"`);
  return n;
}

/** The canonical "CAP_X" name of a capability number, or undefined. */
export function capabilityName(n: number): CapabilityName | undefined {
  return CAPABILITY_NAMES[n];
}

/** The canonical "CAP_X" form of a name, or undefined when unknown. */
export function canonicalCapability(name: string): CapabilityName | undefined {
  const n = capabilityNumber(name);
  return n === undefined ? undefined : CAPABILITY_NAMES[n];
}

/**
 * A set of capabilities as the 64-bit mask the kernel (and the plan's CAPS
 * record) uses: bit n = capability n. Unknown names must be filtered first.
 */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) mask |= 1n << BigInt(parseCapability(name));
  return mask;
}
