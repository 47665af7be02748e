/**
 * Berth's default seccomp profile for the runtime: the data and the rules
 * live in src/common/seccomp-profile.ts (berthd writes the same profile into
 * its containers' specs); here the architectures are this machine's and the
 * names are kept to those its syscall tables know, so the profile reads true
 * for the machine it was made for.
 */
import { buildSeccompProfile, SECCOMP_ARCHES_FOR_NATIVE } from '../../common/seccomp-profile.js';
import { archByName, nativeArchName, syscallNumber } from './arch.js';
import type { OciSeccomp } from './types.js';

export { DEFAULT_ALLOWED_SYSCALLS, SYSCALLS_BY_CAPABILITY } from '../../common/seccomp-profile.js';

export interface DefaultProfileOptions {
  /** The container's capabilities (bounding set), e.g. ["CAP_CHOWN", …]; "SYS_ADMIN" works too. */
  capabilities: string[];
  /** SCMP_ARCH_* or a Node/uname name; default: this machine. */
  arch?: string;
}

export function defaultSeccompProfile(opts: DefaultProfileOptions): OciSeccomp {
  const native = nativeArchName(opts.arch ?? process.arch) ?? 'SCMP_ARCH_X86_64';
  const architectures = SECCOMP_ARCHES_FOR_NATIVE[native] ?? [native];
  const infos = architectures.map((a) => archByName(a)).filter((a) => a !== undefined);
  const known = (n: string): boolean => infos.some((a) => syscallNumber(a, n) !== undefined);
  return buildSeccompProfile({ capabilities: opts.capabilities, architectures, known }) as OciSeccomp;
}
