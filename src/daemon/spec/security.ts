/**
 * SecurityOpt as dockerd reads it — `no-new-privileges[:true|false]`,
 * `seccomp=unconfined|<profile JSON>` (the CLI sends a file's content),
 * `apparmor=…` (no AppArmor here: ignored with a warning), `label=…`
 * (SELinux: `label=disable` accepted, others ignored with a warning) —
 * and the masked and read-only /proc and /sys paths of Docker.
 */
import { invalidArgument } from '../../common/errors.js';
import { buildSeccompProfile, SECCOMP_ARCHES_FOR_NATIVE, seccompNativeArch, type SeccompProfile, type SeccompProfileRule } from '../../common/seccomp-profile.js';

export const MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** 'default', 'unconfined', or a profile given as JSON */
  seccomp: 'default' | 'unconfined' | { profile: unknown };
  apparmor: string;
  warnings: string[];
}

export function parseSecurityOpt(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: 'default', apparmor: '', warnings: [] };
  for (const opt of opts) {
    // dockerd accepts "key=value" and the old "key:value"
    const eq = opt.indexOf('=');
    const colon = opt.indexOf(':');
    const at = eq >= 0 ? eq : colon;
    const key = at >= 0 ? opt.slice(0, at) : opt;
    const value = at >= 0 ? opt.slice(at + 1) : '';
    switch (key) {
      case 'no-new-privileges':
        if (value !== '' && value !== 'true' && value !== 'false') throw invalidArgument(`invalid --security-opt 2: "${opt}"`);
        out.noNewPrivileges = value !== 'false';
        break;
      case 'seccomp':
        if (value === 'unconfined') out.seccomp = 'unconfined';
        else if (value === '' ) throw invalidArgument(`invalid --security-opt: "${opt}"`);
        else {
          try { out.seccomp = { profile: JSON.parse(value) as unknown }; } catch (err) {
            throw invalidArgument(`Decoding seccomp profile failed: ${(err as Error).message}`);
          }
        }
        break;
      case 'apparmor':
        out.apparmor = value;
        out.warnings.push(`AppArmor is not available on this host: security option ${opt} ignored`);
        break;
      case 'label':
        if (value !== 'disable') out.warnings.push(`SELinux is not enabled on this host: security option ${opt} ignored`);
        break;
      case 'systempaths':
        if (value !== 'unconfined') throw invalidArgument(`invalid --security-opt: "${opt}"`);
        break;
      default:
        throw invalidArgument(`invalid --security-opt 1: "${opt}"`);
    }
  }
  return out;
}

interface DockerSeccompRule extends SeccompProfileRule {
  name?: string;
  includes?: { caps?: string[]; arches?: string[] };
  excludes?: { caps?: string[]; arches?: string[] };
}

interface DockerSeccompProfile {
  defaultAction?: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls?: DockerSeccompRule[];
  flags?: string[];
  listenerPath?: string;
}

/**
 * A Docker-format profile as the OCI spec's linux.seccomp: archMap
 * flattened to this machine's architectures, rules conditioned on
 * capabilities or architectures kept only when they apply.
 */
export function convertSeccompProfile(raw: unknown, caps: readonly string[]): SeccompProfile {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument('Decoding seccomp profile failed: not an object');
  const p = raw as DockerSeccompProfile;
  if (typeof p.defaultAction !== 'string') throw invalidArgument('Decoding seccomp profile failed: defaultAction is missing');
  const native = seccompNativeArch() ?? 'SCMP_ARCH_X86_64';
  let architectures = p.architectures ?? [];
  if (p.archMap) {
    const mine = p.archMap.find((a) => a.architecture === native);
    architectures = mine ? [mine.architecture, ...(mine.subArchitectures ?? [])] : [];
  }
  const has = new Set(caps);
  const applies = (r: DockerSeccompRule): boolean => {
    if (r.includes?.caps && !r.includes.caps.every((c) => has.has(c))) return false;
    if (r.includes?.arches && !r.includes.arches.some((a) => architectures.includes(archName(a)))) return false;
    if (r.excludes?.caps && r.excludes.caps.some((c) => has.has(c))) return false;
    if (r.excludes?.arches && r.excludes.arches.some((a) => architectures.includes(archName(a)))) return false;
    return true;
  };
  const syscalls = (p.syscalls ?? []).filter(applies).map((r): SeccompProfileRule => {
    const names = r.names ?? (r.name !== undefined ? [r.name] : []);
    const rule: SeccompProfileRule = { names, action: r.action };
    if (r.errnoRet !== undefined) rule.errnoRet = r.errnoRet;
    if (r.args && r.args.length > 0) rule.args = r.args;
    return rule;
  });
  const out: SeccompProfile = { defaultAction: p.defaultAction, defaultErrnoRet: p.defaultErrnoRet ?? 1, architectures, syscalls };
  if (p.defaultErrnoRet === undefined) delete (out as Partial<SeccompProfile>).defaultErrnoRet;
  return out;
}

/** "amd64", "x86_64" … as SCMP_ARCH_* (profiles' includes.arches use Go's names). */
function archName(a: string): string {
  return ({ amd64: 'SCMP_ARCH_X86_64', x86_64: 'SCMP_ARCH_X86_64', x32: 'SCMP_ARCH_X32', '386': 'SCMP_ARCH_X86', arm64: 'SCMP_ARCH_AARCH64', aarch64: 'SCMP_ARCH_AARCH64' } as Record<string, string>)[a] ?? a;
}

/** Berth's default profile for a container with these capabilities. */
export function defaultProfile(caps: readonly string[]): SeccompProfile {
  const native = seccompNativeArch() ?? 'SCMP_ARCH_X86_64';
  return buildSeccompProfile({ capabilities: [...caps], architectures: SECCOMP_ARCHES_FOR_NATIVE[native] ?? [native] });
}
