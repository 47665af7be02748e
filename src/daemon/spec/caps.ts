/**
 * Capabilities as dockerd sets them: its 14 defaults, CapAdd/CapDrop with
 * `ALL` (with or without the `CAP_` prefix, any case), every capability
 * the kernel knows for a privileged container.
 */
import { invalidArgument } from '../../common/errors.js';

/** Every capability, in the kernel's numbering (0 … 40). */
export const ALL_CAPS: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** dockerd's default set (oci/caps/defaults.go's list, in the same order). */
export const DEFAULT_CAPS: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** "net_admin", "CAP_NET_ADMIN", "ALL" → canonical form; an unknown name is a 400. */
export function normalizeCap(name: string): string {
  const u = name.trim().toUpperCase();
  if (u === 'ALL') return 'ALL';
  const c = u.startsWith('CAP_') ? u : `CAP_${u}`;
  if (!ALL_CAPS.includes(c)) throw invalidArgument(`invalid CapAdd: unknown capability: "${c}"`);
  return c;
}

/**
 * The container's capability set. Docker's rules: privileged gets all;
 * CapAdd ALL gives all minus CapDrop; CapDrop ALL keeps only CapAdd;
 * otherwise the defaults plus CapAdd minus CapDrop.
 */
export function containerCaps(capAdd: readonly string[] = [], capDrop: readonly string[] = [], privileged = false, available: readonly string[] = ALL_CAPS): string[] {
  // "all" is every capability the daemon itself holds: more cannot be given
  if (privileged) return ALL_CAPS.filter((c) => available.includes(c));
  const add = capAdd.map(normalizeCap);
  const drop = capDrop.map((c) => {
    try { return normalizeCap(c); } catch { throw invalidArgument(`invalid CapDrop: unknown capability: "${c}"`); }
  });
  if (add.includes('ALL')) return ALL_CAPS.filter((c) => available.includes(c) && !drop.includes(c));
  const named = add.filter((c) => c !== 'ALL');
  if (drop.includes('ALL')) return [...new Set(named)];
  const base = DEFAULT_CAPS.filter((c) => !drop.includes(c));
  for (const c of named) if (!base.includes(c)) base.push(c); // an added capability wins over its drop, as in dockerd
  return base;
}

/** The capabilities of a CapBnd-style mask ("000001fffeffffff"). */
export function capsOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim() || '0'}`);
  return ALL_CAPS.filter((_c, i) => (mask >> BigInt(i)) & 1n);
}
