/**
 * A Docker create body (already merged with its image's config) as the OCI
 * runtime spec dockerd would generate: process (argv, env, user, cwd,
 * capabilities, rlimits, no-new-privileges), root, hostname, mounts,
 * namespaces, resources, devices, sysctls, seccomp, masked paths.
 * Pure: every fact about the host (devices, the user's passwd lookup,
 * the mounts' sources) comes in `SpecInput`.
 */
import { invalidArgument } from '../../common/errors.js';
import { OCI_VERSION } from '../../common/oci-template.js';
import type { SeccompProfile } from '../../common/seccomp-profile.js';
import type { DockerConfig, DockerHostConfig } from '../containers/types.js';
import { containerCaps } from './caps.js';
import { processArgs, processEnv } from './command.js';
import { DEFAULT_SHM_SIZE, defaultMounts, type OciMount, type UserMount } from './mounts.js';
import { resources, rlimits, type OciDevice, type OciResources, type OciRlimit } from './resources.js';
import { convertSeccompProfile, defaultProfile, MASKED_PATHS, parseSecurityOpt, READONLY_PATHS } from './security.js';
import type { ResolvedUser } from './user.js';

/** Where the init binary is mounted in containers with Init (Docker's path). */
export const INIT_PATH = '/sbin/docker-init';

export interface SpecInput {
  id: string;
  config: DockerConfig;
  host: DockerHostConfig;
  user: ResolvedUser;
  userMounts: UserMount[];
  /** host paths of the per-container files (undefined: not mounted) */
  files?: { hosts: string; resolvConf: string; hostname: string };
  /** host: the host's network namespace; otherwise a new one, or the one at netnsPath */
  network: { host: boolean; netnsPath?: string };
  /** the static init binary on the host, for Init */
  initBinary?: string;
  /** --device nodes and their cgroup rules, and for privileged every host device */
  devices?: { nodes: OciDevice[]; rules: OciResources['devices'] };
  defaultNofile?: number;
  /** the capabilities the daemon holds (privileged and CapAdd ALL get these) */
  hostCaps?: readonly string[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits: OciRlimit[];
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  domainname?: string;
  mounts: OciMount[];
  linux: {
    resources: OciResources;
    namespaces: { type: string; path?: string }[];
    devices?: OciDevice[];
    sysctl?: Record<string, string>;
    seccomp?: SeccompProfile;
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
}

export interface BuiltSpec { spec: OciSpec; warnings: string[] }

/** The container's hostname: Config.Hostname or the first 12 of its ID. */
export function containerHostname(id: string, config: DockerConfig): string {
  return config.Hostname || id.slice(0, 12);
}

function namespaces(input: SpecInput): { type: string; path?: string }[] {
  const h = input.host;
  const out: { type: string; path?: string }[] = [{ type: 'mount' }];
  if (h.PidMode !== 'host') out.push({ type: 'pid' });
  if (h.IpcMode !== 'host') out.push({ type: 'ipc' });
  if (h.UTSMode !== 'host') out.push({ type: 'uts' });
  if (!input.network.host) out.push(input.network.netnsPath ? { type: 'network', path: input.network.netnsPath } : { type: 'network' });
  out.push({ type: 'cgroup' });
  return out;
}

const NAMESPACED_SYSCTL = /^(kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)|fs\.mqueue\.|net\.)/;

function sysctls(input: SpecInput): Record<string, string> | undefined {
  const s = input.host.Sysctls ?? {};
  for (const k of Object.keys(s)) {
    if (!NAMESPACED_SYSCTL.test(k)) throw invalidArgument(`sysctl '${k}' is not allowed`);
    if (k.startsWith('net.') && input.network.host) throw invalidArgument(`sysctl '${k}' not allowed in host network namespace`);
  }
  return Object.keys(s).length > 0 ? { ...s } : undefined;
}

function fileMounts(input: SpecInput, taken: Set<string>): OciMount[] {
  if (!input.files) return [];
  const m = (destination: string, source: string): OciMount => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate'] });
  return [m('/etc/resolv.conf', input.files.resolvConf), m('/etc/hostname', input.files.hostname), m('/etc/hosts', input.files.hosts)]
    .filter((x) => !taken.has(x.destination)); // a user's own mount of the file wins
}

export function buildSpec(input: SpecInput): BuiltSpec {
  const { id, config, host } = input;
  const privileged = host.Privileged === true;
  const security = parseSecurityOpt(host.SecurityOpt ?? []);
  const warnings = [...security.warnings];
  const caps = containerCaps(host.CapAdd ?? [], host.CapDrop ?? [], privileged, input.hostCaps);
  let args = processArgs(config);
  const hostname = containerHostname(id, config);
  const mounts = defaultMounts(host.ShmSize && host.ShmSize > 0 ? host.ShmSize : DEFAULT_SHM_SIZE, privileged);
  const user = input.userMounts.map((u) => u.mount);
  const taken = new Set(user.map((u) => u.destination));
  // a user's mount over a default one (a tmpfs on /dev/shm …) replaces it
  const all = [...mounts.filter((d) => !taken.has(d.destination)), ...fileMounts(input, taken), ...user];
  if (host.Init === true) {
    if (!input.initBinary) throw invalidArgument('--init: no init binary on this host (install tini-static)');
    all.push({ destination: INIT_PATH, type: 'bind', source: input.initBinary, options: ['bind', 'ro'] });
    args = [INIT_PATH, '--', ...args];
  }
  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: config.Tty === true,
      user: { uid: input.user.uid, gid: input.user.gid, ...(input.user.additionalGids.length > 0 ? { additionalGids: input.user.additionalGids } : {}) },
      args,
      env: processEnv(config, hostname, input.user.home),
      cwd: config.WorkingDir || '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: rlimits(host.Ulimits ?? [], input.defaultNofile),
      noNewPrivileges: security.noNewPrivileges,
    },
    root: { path: 'rootfs', readonly: host.ReadonlyRootfs === true },
    hostname,
    mounts: all,
    linux: {
      resources: resources(host, input.devices?.rules ?? [], privileged),
      namespaces: namespaces(input),
    },
  };
  if (config.Domainname) spec.domainname = config.Domainname;
  if (host.OomScoreAdj) spec.process.oomScoreAdj = host.OomScoreAdj;
  if (input.devices && input.devices.nodes.length > 0) spec.linux.devices = input.devices.nodes;
  const sys = sysctls(input);
  if (sys) spec.linux.sysctl = sys;
  if (!privileged) {
    if (security.seccomp === 'default') spec.linux.seccomp = defaultProfile(caps);
    else if (security.seccomp !== 'unconfined') spec.linux.seccomp = convertSeccompProfile(security.seccomp.profile, caps);
    const unconfinedPaths = (host.SecurityOpt ?? []).includes('systempaths=unconfined');
    const masked = Array.isArray(host.MaskedPaths) ? host.MaskedPaths as string[] : unconfinedPaths ? [] : MASKED_PATHS;
    const readonly = Array.isArray(host.ReadonlyPaths) ? host.ReadonlyPaths as string[] : unconfinedPaths ? [] : READONLY_PATHS;
    if (masked.length > 0) spec.linux.maskedPaths = [...masked];
    if (readonly.length > 0) spec.linux.readonlyPaths = [...readonly];
  } else if (security.seccomp !== 'default' && security.seccomp !== 'unconfined') {
    warnings.push('a seccomp profile is ignored for a privileged container');
  }
  return { spec, warnings };
}
