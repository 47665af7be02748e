/**
 * The daemon's container: Docker's create body (Config, HostConfig) as the
 * user gave it, what berthd resolved at create (image, spec inputs, paths),
 * and its state. One record per container, persisted whole in the state DB.
 */

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface RestartPolicy { Name: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure'; MaximumRetryCount?: number }

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** Docker's Config (the container's portable part). Unknown fields are kept as given. */
export interface DockerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: unknown;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  [key: string]: unknown;
}

export interface DockerMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
  VolumeOptions?: unknown;
}

export interface Ulimit { Name: string; Soft: number; Hard: number }
export interface DeviceMapping { PathOnHost: string; PathInContainer?: string; CgroupPermissions?: string }

/** Docker's HostConfig (the container's host-specific part). */
export interface DockerHostConfig {
  Binds?: string[] | null;
  Mounts?: DockerMount[] | null;
  Tmpfs?: Record<string, string> | null;
  NetworkMode?: string;
  PortBindings?: Record<string, unknown> | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Privileged?: boolean;
  SecurityOpt?: string[] | null;
  ReadonlyRootfs?: boolean;
  Dns?: string[] | null;
  DnsSearch?: string[] | null;
  DnsOptions?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  Runtime?: string;
  Init?: boolean | null;
  LogConfig?: { Type: string; Config: Record<string, string> };
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  MemorySwappiness?: number | null;
  KernelMemory?: number;
  KernelMemoryTCP?: number;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  Ulimits?: Ulimit[] | null;
  Devices?: DeviceMapping[] | null;
  OomKillDisable?: boolean | null;
  OomScoreAdj?: number;
  BlkioWeight?: number;
  [key: string]: unknown;
}

export interface ContainerState {
  Status: ContainerStatus;
  Pid: number;
  ExitCode: number;
  Error: string;
  /** RFC 3339 with nanoseconds; Docker's zero time when never */
  StartedAt: string;
  FinishedAt: string;
  OOMKilled: boolean;
  /** the user stopped it (a restart policy then leaves it alone, unless-stopped stays stopped across restarts) */
  StoppedByUser: boolean;
  /** a removal is under way or the container was created with AutoRemove and has ended */
  RemovalInProgress: boolean;
}

export interface ContainerRecord {
  ID: string;
  /** with Docker's leading slash */
  Name: string;
  Created: string;
  /** the image as named at create ("busybox", "sha256:…") */
  ImageName: string;
  /** sha256:… of the image config */
  Image: string;
  Config: DockerConfig;
  HostConfig: DockerHostConfig;
  State: ContainerState;
  RestartCount: number;
  Driver: string;
  /** the core's snapshotter holding the container's snapshot */
  Snapshotter: string;
  Platform: string;
  /** the core's runtime name */
  Runtime: string;
  LogPath: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  Mounts: MountPoint[];
  /** network settings as the attacher answered (Docker's NetworkSettings shape) */
  NetworkSettings: Record<string, unknown>;
  /** the core namespace's net namespace path used by the spec ("" for host) */
  NetnsPath: string;
  AppArmorProfile: string;
  /** creation time in ms, for before/since filters and ps order */
  CreatedMs: number;
  /** what the spec is rebuilt from at each start: the resolved user and the user's mounts (not shown by inspect) */
  SpecInputs: SpecInputs;
}

export interface SpecInputs {
  user: { uid: number; gid: number; additionalGids: number[]; home: string };
  mounts: { mount: { destination: string; type: string; source: string; options: string[] }; point: MountPoint }[];
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';
