/**
 * What the API layer asks of the engine behind it. The daemon implements
 * these interfaces; the API turns HTTP into calls on them and their answers
 * (and BerthErrors) into Docker's JSON. Shapes are Docker's, field for field.
 */
import type { Filters } from './query.js';

/** One event as /events streams it (the legacy status/id/from are added by the API). */
export interface EngineEvent {
  Type: string; // container, image, volume, network, daemon, plugin …
  Action: string; // create, start, die, pull, reload …
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  time: number; // seconds
  timeNano: number; // nanoseconds (a float64 in Docker's JSON too)
}

export interface EventQuery {
  /** nanoseconds since the epoch; undefined: only new events */
  since?: bigint;
  /** nanoseconds since the epoch; undefined: follow until the client leaves */
  until?: bigint;
  filters: Filters;
}

export interface EventsBackend {
  /** The filter keys /events accepts (others are a 400). */
  readonly eventFilters: readonly string[];
  /**
   * Past events from `since`, then live ones, up to `until`; the iteration
   * ends at `until` or when `signal` aborts.
   */
  events(query: EventQuery, signal: AbortSignal): AsyncIterable<EngineEvent>;
}

export interface VersionComponent { Name: string; Version: string; Details?: Record<string, string> }

export interface VersionInfo {
  Platform: { Name: string };
  Components: VersionComponent[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  Experimental?: boolean;
  BuildTime: string;
}

/** /info's document: Docker's field names; values the engine knows. */
export type SystemInfo = Record<string, unknown> & { ID: string; ServerVersion: string; OSType: string };

export interface DiskUsage {
  LayersSize: number;
  /** null when the request's `type` did not ask for this kind */
  Images: unknown[] | null;
  Containers: unknown[] | null;
  Volumes: unknown[] | null;
  BuildCache: unknown[] | null;
}

export type DiskUsageKind = 'container' | 'image' | 'volume' | 'build-cache';

export interface AuthRequest {
  username: string;
  password: string;
  serveraddress: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface AuthResult { Status: string; IdentityToken: string }

export interface SystemBackend {
  /** the engine's version, for /version and the Server header */
  readonly engineVersion: string;
  version(): Promise<VersionInfo>;
  info(): Promise<SystemInfo>;
  diskUsage(kinds: DiskUsageKind[]): Promise<DiskUsage>;
  /** checks the credentials with the registry; a refusal throws HttpError(401) */
  login(req: AuthRequest): Promise<AuthResult>;
}

export interface Backend {
  system: SystemBackend;
  events: EventsBackend;
  images?: ImagesBackend;
  volumes?: VolumesBackend;
  containers?: ContainersBackend;
  networks?: NetworksBackend;
  streams?: ContainerStreamsBackend;
  commit?: CommitBackend;
  build?: BuildBackend;
}


// ---- images and volumes ----

/** Registry credentials as X-Registry-Auth carries them (base64url JSON) or POST /auth stored them. */
export interface RegistryAuth { username?: string; password?: string; serveraddress?: string; identitytoken?: string; registrytoken?: string }

/** Where a progress stream's documents go (Docker's JSONMessage shapes). */
export type ProgressSink = (message: Record<string, unknown>) => Promise<void>;

export interface PullArgs { image: string; tag: string; platform: string; auth: RegistryAuth | undefined }
export interface ImportArgs {
  /** "-": the request body; else a URL to fetch */
  src: string;
  body: AsyncIterable<Buffer>;
  repo: string;
  tag: string;
  changes: string[];
  message: string;
  platform: string;
}
export interface ImageListArgs { all: boolean; filters: Filters; digests: boolean; sharedSize: boolean }
/** One line of DELETE /images/{name}: {"Untagged": …} or {"Deleted": …}. */
export type ImageDeleteItem = { Untagged: string } | { Deleted: string };

export interface ImagesBackend {
  pull(args: PullArgs, out: ProgressSink, signal: AbortSignal): Promise<void>;
  importImage(args: ImportArgs, out: ProgressSink): Promise<void>;
  list(args: ImageListArgs): Promise<Record<string, unknown>[]>;
  inspect(name: string): Promise<Record<string, unknown>>;
  history(name: string): Promise<Record<string, unknown>[]>;
  tag(source: string, repo: string, tag: string): Promise<void>;
  remove(name: string, force: boolean, noprune: boolean): Promise<ImageDeleteItem[]>;
  push(name: string, tag: string, auth: RegistryAuth | undefined, out: ProgressSink): Promise<void>;
  /** the docker-archive of these images (names, IDs) */
  save(names: string[]): Promise<NodeJS.ReadableStream>;
  /** loads an archive; the names (or IDs) loaded */
  load(body: AsyncIterable<Buffer>): Promise<{ tags: string[]; ids: string[] }>;
  prune(filters: Filters): Promise<{ ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }>;
}

export interface VolumeCreateArgs { Name?: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }

/** A volume as Docker's API shows it. */
export interface VolumeView {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string>;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumesBackend {
  create(args: VolumeCreateArgs): Promise<VolumeView>;
  list(filters: Filters): Promise<{ Volumes: VolumeView[]; Warnings: string[] }>;
  inspect(name: string): Promise<VolumeView>;
  remove(name: string, force: boolean): Promise<void>;
  prune(filters: Filters): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>;
}

/** A volume a container asks for: named (created when absent) or anonymous (name ""). */
export interface VolumeRequest {
  name: string;
  /** the path inside the container */
  target: string;
  /** don't fill a new volume from the image (Mounts' VolumeOptions.NoCopy, bind option "nocopy") */
  noCopy?: boolean;
  labels?: Record<string, string>;
  driverOpts?: Record<string, string>;
}

export interface ResolvedVolume { name: string; target: string; source: string }

/**
 * How the container half gets host paths for the volumes of a container:
 * named and anonymous ones are created when absent and, when new or empty,
 * filled from the image's root filesystem at their target (as Docker does).
 */
export interface VolumeResolver {
  resolveVolumes(containerId: string, requests: VolumeRequest[], imageRootfsPath: string | undefined): Promise<ResolvedVolume[]>;
  /** the container is gone: its volumes are no longer in use by it (anonymous ones are removed when `removeAnonymous`) */
  releaseVolumes(containerId: string, removeAnonymous: boolean): Promise<void>;
}

// ---- containers ----

export type ContainerWaitCondition = 'not-running' | 'next-exit' | 'removed';
export interface ContainerListArgs { all: boolean; limit: number; size: boolean; filters: Filters }
export interface ContainerStopOptions { timeout?: number; signal?: string }

/** Container lifecycle, inspect and list; a reference is a full ID, a name or a unique ID prefix. */
export interface ContainersBackend {
  create(body: Record<string, unknown>, name: string | undefined, platform: string): Promise<{ Id: string; Warnings: string[] }>;
  /** the full ID of a reference (404 when none) */
  resolve(ref: string): Promise<string>;
  /** false: it was running already (304) */
  start(ref: string): Promise<boolean>;
  /** false: it was not running (304) */
  stop(ref: string, opts: ContainerStopOptions): Promise<boolean>;
  restart(ref: string, opts: ContainerStopOptions): Promise<void>;
  kill(ref: string, signal: string): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  wait(ref: string, condition: ContainerWaitCondition, signal: AbortSignal): Promise<{ StatusCode: number; Error: { Message: string } | null }>;
  inspect(ref: string, size: boolean): Promise<Record<string, unknown>>;
  list(args: ContainerListArgs): Promise<Record<string, unknown>[]>;
  rename(ref: string, name: string): Promise<void>;
  update(ref: string, body: Record<string, unknown>): Promise<{ Warnings: string[] }>;
  remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void>;
  prune(filters: Filters): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;
}

// ---- container streams and files (attach, logs, exec, stats, top, archive, export, changes) ----

export type OutputStream = 'stdout' | 'stderr';
export interface OutputChunk { stream: OutputStream; data: Buffer }

/** A process's attached streams: its output as it comes, its stdin, its exit. */
export interface ProcessSession extends AsyncIterable<OutputChunk> {
  write(data: Buffer): Promise<void>;
  /** the process sees EOF on its stdin */
  closeStdin(): Promise<void>;
  /** detaches; the process carries on */
  close(): void;
  /** the exit code when the process ended while attached (undefined when detached first); recorded before it resolves */
  readonly exit: Promise<number | undefined>;
  /**
   * Offers the client's connection, its response headers sent, for the
   * output to be written to directly by whatever produces it (a container's
   * shim), out of this process's path. A session that takes it yields no
   * output: nothing else may be written to the connection until the session
   * ends. Sessions that cannot take it leave this out or ignore the offer.
   */
  offerOutput?(target: OutputConnection): void;
}

/** A hijacked connection as an output: its framing and its descriptor (undefined once it is closed). */
export interface OutputConnection {
  framing: 'stdcopy' | 'raw';
  fd(): number | undefined;
}

export interface AttachOptions { stream: boolean; stdin: boolean; stdout: boolean; stderr: boolean; logs: boolean }

/** What the attach route needs to serve a session: framing (tty), stdin rules, detach keys. */
export interface AttachedProcess {
  tty: boolean;
  /** close the process's stdin when the client's input ends */
  closeStdinOnEnd: boolean;
  /** the container's or exec's detach keys ("" : the default ctrl-p,ctrl-q) */
  detachKeys: string;
  session: ProcessSession;
}

export interface LogsOptions {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  /** ns since the epoch */
  sinceNs?: bigint;
  untilNs?: bigint;
  /** the last N lines; undefined: all */
  tail?: number;
  /** each entry's text comes preceded by its time and a space (`docker logs -t`) */
  timestamps?: boolean;
}

/** One or more consecutive log entries of one stream (time: the first's), their texts concatenated. */
export interface LogRecord { stream: OutputStream; time: string; data: Buffer }

export interface ExecStartOptions { detach: boolean; tty: boolean }

/** `X-Docker-Container-Path-Stat`: mode is Go's os.FileMode bits. */
export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

export interface ArchivePutOptions { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }

export interface ContainerStreamsBackend {
  attach(ref: string, opts: AttachOptions, signal: AbortSignal): Promise<AttachedProcess>;
  resize(ref: string, height: number, width: number): Promise<void>;
  logs(ref: string, opts: LogsOptions, signal: AbortSignal): Promise<{ tty: boolean; records: AsyncIterable<LogRecord[]> }>;
  execCreate(ref: string, body: Record<string, unknown>): Promise<{ Id: string }>;
  /** detached: started, undefined returned; else the attached process (started once the session is in place) */
  execStart(id: string, opts: ExecStartOptions): Promise<AttachedProcess | undefined>;
  execResize(id: string, height: number, width: number): Promise<void>;
  execInspect(id: string): Promise<Record<string, unknown>>;
  top(ref: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  /** one document (stream false) or one a second until the container stops or signal aborts */
  stats(ref: string, opts: { stream: boolean; oneShot: boolean }, signal: AbortSignal): AsyncIterable<Record<string, unknown>>;
  statPath(ref: string, path: string): Promise<PathStat>;
  /** calls send with the stat and the tar while the container's files are reachable */
  getArchive(ref: string, path: string, send: (stat: PathStat, tar: AsyncIterable<Buffer>) => Promise<void>): Promise<void>;
  putArchive(ref: string, path: string, body: AsyncIterable<Buffer>, opts: ArchivePutOptions): Promise<void>;
  exportContainer(ref: string): Promise<AsyncIterable<Buffer>>;
  changes(ref: string): Promise<{ Path: string; Kind: number }[]>;
}

// ---- networks ----

/** The network routes' backend (Docker's shapes in and out). */
export interface NetworksBackend {
  list(filters: Filters): Promise<Record<string, unknown>[]>;
  inspect(ref: string): Promise<Record<string, unknown>>;
  create(body: Record<string, unknown>): Promise<{ Id: string; Warning: string }>;
  remove(ref: string): Promise<void>;
  /** config: Docker's EndpointConfig (Aliases, IPAMConfig.IPv4Address, Links) */
  connect(ref: string, container: string, config: unknown): Promise<void>;
  disconnect(ref: string, container: string, force: boolean): Promise<void>;
  prune(filters: Filters): Promise<{ NetworksDeleted: string[] | null }>;
}

// ---- commit ----

/** POST /commit: the query's fields; config is the body (undefined: none given, the container's own). */
export interface CommitArgs {
  container: string;
  repo: string;
  tag: string;
  comment: string;
  author: string;
  pause: boolean;
  changes: string[];
  config: Record<string, unknown> | undefined;
}

export interface CommitBackend {
  /** The new image's ID (sha256:…). */
  commit(args: CommitArgs): Promise<string>;
}

// ---- build ----

/** POST /build's query, read (the classic builder's options). */
export interface BuildOptions {
  tags: string[];
  /** the Dockerfile's path in the context ("" : Dockerfile) */
  dockerfile: string;
  /** --build-arg: a name without a value (null in the JSON) takes the environment's, which the CLI already did */
  buildArgs: Map<string, string | undefined>;
  target: string;
  noCache: boolean;
  rm: boolean;
  forceRm: boolean;
  pull: boolean;
  quiet: boolean;
  labels: Record<string, string>;
  networkMode: string;
  platform: string;
}

export interface BuildRequest {
  options: BuildOptions;
  /** a remote context (git URL, tarball URL); "" : the body is the context */
  remote: string;
  /** X-Registry-Config: credentials by registry, for the FROM images pulled */
  auth: Record<string, RegistryAuth>;
  /** the context: a tar, maybe gzip-compressed */
  body: AsyncIterable<Buffer>;
}

export interface BuildBackend {
  /** Builds; the JSON stream's documents go to out. A throw before the first document is the HTTP answer. */
  build(req: BuildRequest, out: ProgressSink, signal: AbortSignal): Promise<void>;
}
