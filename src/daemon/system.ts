/**
 * The system backend of the API: /version, /info, /system/df and /auth,
 * answered from the daemon's config, its store, the host and the core.
 */
import { readdirSync } from 'node:fs';
import { API_VERSION, MIN_API_VERSION, type AuthRequest, type AuthResult, type DiskUsage, type DiskUsageKind, type SystemBackend, type SystemInfo, type VersionInfo } from '../api/index.js';
import type { DaemonConfig } from './config.js';
import { goArch, hostFacts, type HostFacts } from './host.js';
import type { ContainerCounts, Inventory } from './inventory.js';
import { registryLogin } from './login.js';
import { ENGINE_NAMESPACE } from './namespace.js';
import { BERTHD_VERSION } from './version.js';

export interface SystemDeps {
  config: DaemonConfig;
  daemonId: string;
  inventory: Inventory;
  /** live /events subscribers, for NEventsListener */
  eventListeners: () => number;
  /** containers by State.Status in berthd's own store (what `docker ps -a` lists); the core's count without it */
  containerStatuses?: () => Map<string, number>;
}

/**
 * /info's counts as dockerd keeps them: running and paused as such, every
 * other state (created, restarting, removing, exited, dead) as stopped.
 */
export function containerCounts(byStatus: Map<string, number>): ContainerCounts {
  let total = 0;
  for (const n of byStatus.values()) total += n;
  const running = byStatus.get('running') ?? 0;
  const paused = byStatus.get('paused') ?? 0;
  return { total, running, paused, stopped: total - running - paused };
}

function openFds(): number {
  try { return readdirSync('/proc/self/fd').length; } catch { return 0; }
}

/** Registries /info lists: insecure CIDRs (127.0.0.0/8 always) and per-host index configs. */
function registryConfig(insecure: readonly string[]): Record<string, unknown> {
  const cidrs = ['127.0.0.0/8', ...insecure.filter((r) => r.includes('/') && r !== '127.0.0.0/8')];
  const index: Record<string, unknown> = { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } };
  for (const r of insecure.filter((r) => !r.includes('/'))) index[r] = { Name: r, Mirrors: [], Secure: false, Official: false };
  return { InsecureRegistryCIDRs: cidrs, IndexConfigs: index, Mirrors: [] };
}

export class DaemonSystem implements SystemBackend {
  readonly engineVersion = BERTHD_VERSION;
  private readonly host: HostFacts = hostFacts();

  constructor(private readonly deps: SystemDeps) {}

  async version(): Promise<VersionInfo> {
    const details = {
      ApiVersion: API_VERSION, Arch: goArch(), BuildTime: '', Experimental: 'false', GitCommit: '',
      GoVersion: `node ${process.version}`, KernelVersion: this.host.kernelVersion, MinAPIVersion: MIN_API_VERSION, Os: 'linux',
    };
    return {
      Platform: { Name: 'Berth Engine' },
      Components: [{ Name: 'Engine', Version: BERTHD_VERSION, Details: details }],
      Version: BERTHD_VERSION, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: '',
      GoVersion: details.GoVersion, Os: 'linux', Arch: goArch(), KernelVersion: this.host.kernelVersion, BuildTime: '',
    };
  }

  async info(): Promise<SystemInfo> {
    const { config } = this.deps;
    const warnings: string[] = [];
    const [counts, images] = await Promise.all([
      this.countContainers().catch((err: Error) => { warnings.push(`WARNING: cannot count containers: ${err.message}`); return { total: 0, running: 0, paused: 0, stopped: 0 }; }),
      this.deps.inventory.images().catch((err: Error) => { warnings.push(`WARNING: cannot count images: ${err.message}`); return 0; }),
    ]);
    const h = this.host;
    if (!h.bridgeNfIptables) warnings.push('WARNING: bridge-nf-call-iptables is disabled');
    if (!h.bridgeNfIp6tables) warnings.push('WARNING: bridge-nf-call-ip6tables is disabled');
    const runtimes = Object.fromEntries(Object.entries(config.runtimes).map(([name, r]) => [name, { path: r.path, ...(r.runtimeArgs.length > 0 ? { runtimeArgs: r.runtimeArgs } : {}) }]));
    return {
      ID: this.deps.daemonId,
      Containers: counts.total, ContainersRunning: counts.running, ContainersPaused: counts.paused, ContainersStopped: counts.stopped,
      Images: images,
      Driver: 'overlayfs',
      DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true, SwapLimit: h.swapLimit, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true,
      PidsLimit: true, OomKillDisable: h.cgroupVersion === '1', IPv4Forwarding: h.ipv4Forwarding,
      BridgeNfIptables: h.bridgeNfIptables, BridgeNfIp6tables: h.bridgeNfIp6tables,
      Debug: config.logLevel === 'debug', NFd: openFds(), NGoroutines: 0, SystemTime: new Date().toISOString(),
      LoggingDriver: config.logDriver, CgroupDriver: 'cgroupfs', CgroupVersion: h.cgroupVersion,
      NEventsListener: this.deps.eventListeners(),
      KernelVersion: h.kernelVersion, OperatingSystem: h.operatingSystem, OSVersion: h.osVersion, OSType: 'linux',
      Architecture: h.architecture, IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: registryConfig(config.insecureRegistries),
      NCPU: h.ncpu, MemTotal: h.memTotal, GenericResources: null, DockerRootDir: config.dataRoot,
      HttpProxy: process.env.HTTP_PROXY ?? process.env.http_proxy ?? '', HttpsProxy: process.env.HTTPS_PROXY ?? process.env.https_proxy ?? '',
      NoProxy: process.env.NO_PROXY ?? process.env.no_proxy ?? '',
      Name: h.name, Labels: [], ExperimentalBuild: false, ServerVersion: BERTHD_VERSION,
      Runtimes: runtimes, DefaultRuntime: config.defaultRuntime,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true, Isolation: '', InitBinary: '',
      ContainerdCommit: { ID: '' }, RuncCommit: { ID: '' }, InitCommit: { ID: '' },
      SecurityOptions: [...(h.seccomp ? ['name=seccomp,profile=builtin'] : []), `name=cgroupns`],
      DefaultAddressPools: config.defaultAddressPools.map((p) => ({ Base: p.base, Size: p.size })),
      CDISpecDirs: [],
      Containerd: { Address: config.coreAddress, Namespaces: { Containers: ENGINE_NAMESPACE, Plugins: ENGINE_NAMESPACE } },
      Warnings: warnings,
    };
  }

  private async countContainers(): Promise<ContainerCounts> {
    const statuses = this.deps.containerStatuses;
    return statuses ? containerCounts(statuses()) : this.deps.inventory.containers();
  }

  diskUsage(kinds: DiskUsageKind[]): Promise<DiskUsage> {
    return this.deps.inventory.diskUsage(kinds);
  }

  login(req: AuthRequest): Promise<AuthResult> {
    return registryLogin(req, this.deps.config.insecureRegistries);
  }
}
