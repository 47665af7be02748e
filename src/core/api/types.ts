/**
 * The messages of proto/berth/core/v1 as JavaScript sees them (see
 * LOADER_OPTIONS: camelCase, bytes as Buffer, int64 as string, defaults
 * filled). tests/unit/core-api.test.ts checks these field lists against the
 * .proto files, so the two cannot drift.
 */
export interface Timestamp { seconds: string; nanos: number }

export type Labels = Record<string, string>;

export interface Namespace { name: string; labels: Labels; createdAt: Timestamp | null }

export interface Runtime { name: string; options: Buffer }

export interface Container {
  id: string;
  image: string;
  spec: Buffer;
  runtime: Runtime | null;
  rootfs: string;
  snapshotKey: string;
  labels: Labels;
  createdAt: Timestamp | null;
  updatedAt: Timestamp | null;
  /** the snapshotter holding snapshotKey ("" for the core's default) */
  snapshotter: string;
}

export interface Envelope { timestamp: Timestamp | null; namespace: string; topic: string; event: Buffer }

export type TaskStatus = 'UNKNOWN' | 'CREATED' | 'RUNNING' | 'STOPPED' | 'PAUSED' | 'PAUSING';

export interface Process {
  containerId: string;
  execId: string;
  pid: number;
  status: TaskStatus;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exitStatus: number;
  exitedAt: Timestamp | null;
  /** why it stopped other than by exiting, or a fault of a live one; "" when none */
  reason: string;
  /** the OOM killer killed a process of the task */
  oomKilled: boolean;
  /** the task's shim socket, where a client on this host may attach to the process's stdio directly; "" when none */
  shimAddress: string;
}

export interface Empty { [key: string]: never }

// Namespaces
export interface GetNamespaceRequest { name: string }
export interface GetNamespaceResponse { namespace: Namespace | null }
export type ListNamespacesRequest = Empty;
export interface ListNamespacesResponse { namespaces: Namespace[] }
export interface CreateNamespaceRequest { name: string; labels: Labels }
export interface CreateNamespaceResponse { namespace: Namespace | null }
export interface UpdateNamespaceRequest { name: string; setLabels: Labels; removeLabels: string[] }
export interface UpdateNamespaceResponse { namespace: Namespace | null }
export interface DeleteNamespaceRequest { name: string }

// Containers
export interface GetContainerRequest { id: string }
export interface GetContainerResponse { container: Container | null }
export interface ListContainersRequest { filters: string[] }
export interface ListContainersResponse { containers: Container[] }
export interface CreateContainerRequest { container: Container | null }
export interface CreateContainerResponse { container: Container | null }
export interface UpdateContainerRequest { container: Container | null; updateMask: string[] }
export interface UpdateContainerResponse { container: Container | null }
export interface DeleteContainerRequest { id: string }

// Events
export interface PublishRequest { topic: string; event: Buffer }
export interface SubscribeRequest { topics: string[]; namespaces: string[] }

// Tasks
export interface CreateTaskRequest { containerId: string; stdin: string; stdout: string; stderr: string; terminal: boolean; options: Buffer }
export interface CreateTaskResponse { containerId: string; pid: number; shimAddress: string }
export interface StartRequest { containerId: string; execId: string }
export interface StartResponse { pid: number }
export interface DeleteTaskRequest { containerId: string; force: boolean }
export interface DeleteProcessRequest { containerId: string; execId: string }
export interface DeleteResponse { id: string; pid: number; exitStatus: number; exitedAt: Timestamp | null }
export interface StateRequest { containerId: string; execId: string }
export interface StateResponse { process: Process | null }
export interface ListTasksRequest { filters: string[] }
export interface ListTasksResponse { tasks: Process[] }
export interface KillRequest { containerId: string; execId: string; signal: number; all: boolean }
export interface ExecProcessRequest { containerId: string; execId: string; stdin: string; stdout: string; stderr: string; terminal: boolean; spec: Buffer }
export interface ResizePtyRequest { containerId: string; execId: string; width: number; height: number }
export interface CloseIORequest { containerId: string; execId: string; stdin: boolean }
export interface PauseTaskRequest { containerId: string }
export interface ResumeTaskRequest { containerId: string }
export interface WaitRequest { containerId: string; execId: string }
export interface WaitResponse { exitStatus: number; exitedAt: Timestamp | null; oomKilled: boolean }
export interface MetricsRequest { filters: string[] }
export interface Metric { timestamp: Timestamp | null; id: string; data: Buffer }
export interface MetricsResponse { metrics: Metric[] }
/** logs (first request): replay the process's json-file log before the live output */
export interface AttachRequest { containerId: string; execId: string; stdin: boolean; stdout: boolean; stderr: boolean; data: Buffer; closeStdin: boolean; logs: boolean }
export interface AttachResponse { ready: boolean; stream: string; data: Buffer; exited: boolean; exitStatus: number; exitedAt: Timestamp | null }
export interface UpdateTaskRequest { containerId: string; resources: Buffer; annotations: Labels }

// Images
export interface DescriptorMessage { mediaType: string; digest: string; size: string; annotations: Labels }
export interface Image { name: string; labels: Labels; target: DescriptorMessage | null; createdAt: Timestamp | null; updatedAt: Timestamp | null }
export interface GetImageRequest { name: string }
export interface GetImageResponse { image: Image | null }
export interface ListImagesRequest { filters: string[] }
export interface ListImagesResponse { images: Image[] }
export interface CreateImageRequest { image: Image | null }
export interface CreateImageResponse { image: Image | null }
export interface UpdateImageRequest { image: Image | null; updateMask: string[] }
export interface UpdateImageResponse { image: Image | null }
export interface DeleteImageRequest { name: string }
export interface PullRequest { ref: string; platform: string; snapshotter: string; unpack: boolean; username: string; password: string }
export interface PullProgress { digest: string; status: string; current: string; total: string; mediaType: string; image: Image | null }
export interface PushRequest { name: string; ref: string; username: string; password: string }
export interface PushProgress { digest: string; status: string; current: string; total: string; mediaType: string }
export interface TagImageRequest { source: string; target: string }
export interface TagImageResponse { image: Image | null }
export interface RemoveImageRequest { ref: string; force: boolean }
export interface RemoveImageResponse { untagged: string[]; deleted: string[] }
export interface InspectImageRequest { ref: string }
export interface InspectImageResponse {
  json: Buffer;
  /** Inspect only: each layer's unpacked size (int64 as a string), in RootFS.Layers order; absent from older cores */
  layerSizes?: string[];
}
export interface PruneImagesRequest { all: boolean }
export interface PruneImagesResponse { deleted: string[] }
export interface DataChunk { data: Buffer }
export interface SaveImagesRequest { names: string[]; platform: string }
export interface LoadImagesRequest { data: Buffer; snapshotter: string; contentOnly: boolean; platform: string }
export interface LoadImagesResponse { images: Image[] }
export interface ImportImageRequest { data: Buffer; name: string; changes: string[]; message: string; snapshotter: string; contentOnly: boolean }
export interface ImportImageResponse { image: Image | null }
export interface ExportContainerRequest { id: string }
export interface CommitImageRequest {
  data: Buffer; parent: string; name: string; config: Buffer; changes: string[]; defaults: Buffer; author: string; comment: string;
  createdBy: string; container: string; containerConfig: Buffer; snapshotter: string;
}
export interface CommitImageResponse { image: Image | null }

// Content
export interface ContentInfoMessage { digest: string; size: string; labels: Labels; createdAt: Timestamp | null; updatedAt: Timestamp | null }
export interface ContentInfoRequest { digest: string }
export interface ContentInfoResponse { info: ContentInfoMessage | null }
export interface UpdateContentRequest { info: ContentInfoMessage | null; updateMask: string[] }
export interface ListContentRequest { filters: string[] }
export interface ListContentResponse { info: ContentInfoMessage[] }
export interface DeleteContentRequest { digest: string }
export interface ReadContentRequest { digest: string; offset: string }
export interface ReadContentResponse { offset: string; data: Buffer }
export interface IngestStatusMessage { ref: string; offset: string; total: string; expected: string; startedAt: Timestamp | null; updatedAt: Timestamp | null }
export interface ContentStatusRequest { ref: string }
export interface ContentStatusResponse { status: IngestStatusMessage | null }
export interface ListContentStatusesRequest { filters: string[] }
export interface ListContentStatusesResponse { statuses: IngestStatusMessage[] }
export interface WriteContentRequest { ref: string; offset: string; total: string; expected: string; data: Buffer; commit: boolean; labels: Labels }
export interface WriteContentResponse { digest: string; offset: string }
export interface AbortContentRequest { ref: string }

// Snapshots
export interface MountMessage { type: string; source: string; target: string; options: string[] }
export interface SnapshotInfoMessage { name: string; parent: string; kind: string; labels: Labels; createdAt: Timestamp | null; updatedAt: Timestamp | null }
export interface PrepareSnapshotRequest { snapshotter: string; key: string; parent: string; labels: Labels }
export interface MountsResponse { mounts: MountMessage[] }
export interface SnapshotKeyRequest { snapshotter: string; key: string }
export interface CommitSnapshotRequest { snapshotter: string; name: string; key: string; labels: Labels }
export interface StatSnapshotResponse { info: SnapshotInfoMessage | null }
export interface UpdateSnapshotRequest { snapshotter: string; info: SnapshotInfoMessage | null; updateMask: string[] }
export interface ListSnapshotsRequest { snapshotter: string; filters: string[] }
export interface ListSnapshotsResponse { info: SnapshotInfoMessage[] }
export interface UsageResponse { size: string; inodes: string }

// Leases
export interface LeaseMessage { id: string; labels: Labels; createdAt: Timestamp | null; expiresAt: Timestamp | null }
export interface LeaseResourceMessage { type: string; id: string }
export interface CreateLeaseRequest { id: string; labels: Labels; expireSeconds: string }
export interface CreateLeaseResponse { lease: LeaseMessage | null }
export interface DeleteLeaseRequest { id: string; sync: boolean }
export interface ListLeasesRequest { filters: string[] }
export interface ListLeasesResponse { leases: LeaseMessage[] }
export interface LeaseResourceRequest { id: string; resource: LeaseResourceMessage | null }
export interface ListLeaseResourcesRequest { id: string }
export interface ListLeaseResourcesResponse { resources: LeaseResourceMessage[] }

// Gc
export type CollectRequest = Empty;
export interface CollectResponse { contentRemoved: string; snapshotsRemoved: string; bytesFreed: string; durationMs: string }

/**
 * Each service's methods: request and response types, and whether the
 * response is a stream. The server's handlers and the client's calls are
 * both typed from this one table.
 */
export interface Api {
  Namespaces: {
    Get: [GetNamespaceRequest, GetNamespaceResponse];
    List: [ListNamespacesRequest, ListNamespacesResponse];
    Create: [CreateNamespaceRequest, CreateNamespaceResponse];
    Update: [UpdateNamespaceRequest, UpdateNamespaceResponse];
    Delete: [DeleteNamespaceRequest, Empty];
  };
  Containers: {
    Get: [GetContainerRequest, GetContainerResponse];
    List: [ListContainersRequest, ListContainersResponse];
    Create: [CreateContainerRequest, CreateContainerResponse];
    Update: [UpdateContainerRequest, UpdateContainerResponse];
    Delete: [DeleteContainerRequest, Empty];
  };
  Events: {
    Publish: [PublishRequest, Empty];
  };
  Tasks: {
    Create: [CreateTaskRequest, CreateTaskResponse];
    Start: [StartRequest, StartResponse];
    Delete: [DeleteTaskRequest, DeleteResponse];
    DeleteProcess: [DeleteProcessRequest, DeleteResponse];
    State: [StateRequest, StateResponse];
    List: [ListTasksRequest, ListTasksResponse];
    Kill: [KillRequest, Empty];
    Exec: [ExecProcessRequest, Empty];
    ResizePty: [ResizePtyRequest, Empty];
    CloseIO: [CloseIORequest, Empty];
    Pause: [PauseTaskRequest, Empty];
    Resume: [ResumeTaskRequest, Empty];
    Wait: [WaitRequest, WaitResponse];
    Metrics: [MetricsRequest, MetricsResponse];
    Update: [UpdateTaskRequest, Empty];
  };
  Images: {
    Get: [GetImageRequest, GetImageResponse];
    List: [ListImagesRequest, ListImagesResponse];
    Create: [CreateImageRequest, CreateImageResponse];
    Update: [UpdateImageRequest, UpdateImageResponse];
    Delete: [DeleteImageRequest, Empty];
    Tag: [TagImageRequest, TagImageResponse];
    Remove: [RemoveImageRequest, RemoveImageResponse];
    Inspect: [InspectImageRequest, InspectImageResponse];
    History: [InspectImageRequest, InspectImageResponse];
    Prune: [PruneImagesRequest, PruneImagesResponse];
  };
  Content: {
    Info: [ContentInfoRequest, ContentInfoResponse];
    Update: [UpdateContentRequest, ContentInfoResponse];
    List: [ListContentRequest, ListContentResponse];
    Delete: [DeleteContentRequest, Empty];
    Status: [ContentStatusRequest, ContentStatusResponse];
    ListStatuses: [ListContentStatusesRequest, ListContentStatusesResponse];
    Abort: [AbortContentRequest, Empty];
  };
  Snapshots: {
    Prepare: [PrepareSnapshotRequest, MountsResponse];
    View: [PrepareSnapshotRequest, MountsResponse];
    Mounts: [SnapshotKeyRequest, MountsResponse];
    Commit: [CommitSnapshotRequest, Empty];
    Remove: [SnapshotKeyRequest, Empty];
    Stat: [SnapshotKeyRequest, StatSnapshotResponse];
    Update: [UpdateSnapshotRequest, StatSnapshotResponse];
    List: [ListSnapshotsRequest, ListSnapshotsResponse];
    Usage: [SnapshotKeyRequest, UsageResponse];
  };
  Leases: {
    Create: [CreateLeaseRequest, CreateLeaseResponse];
    Delete: [DeleteLeaseRequest, Empty];
    List: [ListLeasesRequest, ListLeasesResponse];
    AddResource: [LeaseResourceRequest, Empty];
    DeleteResource: [LeaseResourceRequest, Empty];
    ListResources: [ListLeaseResourcesRequest, ListLeaseResourcesResponse];
  };
  Gc: {
    Collect: [CollectRequest, CollectResponse];
  };
}

/** Server-streaming methods, outside the unary table. */
export interface StreamingApi {
  Events: { Subscribe: [SubscribeRequest, Envelope] };
  Images: { Pull: [PullRequest, PullProgress]; Push: [PushRequest, PushProgress]; Save: [SaveImagesRequest, DataChunk]; ExportContainer: [ExportContainerRequest, DataChunk] };
  Content: { Read: [ReadContentRequest, ReadContentResponse] };
}

/** Client-streaming methods. */
export interface ClientStreamingApi {
  Content: { Write: [WriteContentRequest, WriteContentResponse] };
  Images: { Load: [LoadImagesRequest, LoadImagesResponse]; Import: [ImportImageRequest, ImportImageResponse]; Commit: [CommitImageRequest, CommitImageResponse] };
}

/** Bidirectional streaming methods. */
export interface DuplexApi {
  Tasks: { Attach: [AttachRequest, AttachResponse] };
}

/** Field names of each message, for the drift test against the .proto files. */
export const MESSAGE_FIELDS: Record<string, string[]> = {
  Namespace: ['name', 'labels', 'createdAt'],
  Runtime: ['name', 'options'],
  Container: ['id', 'image', 'spec', 'runtime', 'rootfs', 'snapshotKey', 'labels', 'createdAt', 'updatedAt', 'snapshotter'],
  Descriptor: ['mediaType', 'digest', 'size', 'annotations'],
  Image: ['name', 'labels', 'target', 'createdAt', 'updatedAt'],
  PullRequest: ['ref', 'platform', 'snapshotter', 'unpack', 'username', 'password'],
  PullProgress: ['digest', 'status', 'current', 'total', 'mediaType', 'image'],
  PushRequest: ['name', 'ref', 'username', 'password'],
  PushProgress: ['digest', 'status', 'current', 'total', 'mediaType'],
  DataChunk: ['data'],
  SaveImagesRequest: ['names', 'platform'],
  LoadImagesRequest: ['data', 'snapshotter', 'contentOnly', 'platform'],
  LoadImagesResponse: ['images'],
  ImportImageRequest: ['data', 'name', 'changes', 'message', 'snapshotter', 'contentOnly'],
  ImportImageResponse: ['image'],
  ExportContainerRequest: ['id'],
  CommitImageRequest: ['data', 'parent', 'name', 'config', 'changes', 'defaults', 'author', 'comment', 'createdBy', 'container', 'containerConfig', 'snapshotter'],
  CommitImageResponse: ['image'],
  RemoveImageRequest: ['ref', 'force'],
  RemoveImageResponse: ['untagged', 'deleted'],
  ContentInfo: ['digest', 'size', 'labels', 'createdAt', 'updatedAt'],
  IngestStatus: ['ref', 'offset', 'total', 'expected', 'startedAt', 'updatedAt'],
  WriteContentRequest: ['ref', 'offset', 'total', 'expected', 'data', 'commit', 'labels'],
  Mount: ['type', 'source', 'target', 'options'],
  SnapshotInfo: ['name', 'parent', 'kind', 'labels', 'createdAt', 'updatedAt'],
  PrepareSnapshotRequest: ['snapshotter', 'key', 'parent', 'labels'],
  CommitSnapshotRequest: ['snapshotter', 'name', 'key', 'labels'],
  Lease: ['id', 'labels', 'createdAt', 'expiresAt'],
  CreateLeaseRequest: ['id', 'labels', 'expireSeconds'],
  CollectResponse: ['contentRemoved', 'snapshotsRemoved', 'bytesFreed', 'durationMs'],
  Envelope: ['timestamp', 'namespace', 'topic', 'event'],
  Process: ['containerId', 'execId', 'pid', 'status', 'stdin', 'stdout', 'stderr', 'terminal', 'exitStatus', 'exitedAt', 'reason', 'oomKilled', 'shimAddress'],
  DeleteTaskRequest: ['containerId', 'force'],
  UpdateNamespaceRequest: ['name', 'setLabels', 'removeLabels'],
  UpdateContainerRequest: ['container', 'updateMask'],
  SubscribeRequest: ['topics', 'namespaces'],
  CreateTaskRequest: ['containerId', 'stdin', 'stdout', 'stderr', 'terminal', 'options'],
  ExecProcessRequest: ['containerId', 'execId', 'stdin', 'stdout', 'stderr', 'terminal', 'spec'],
  KillRequest: ['containerId', 'execId', 'signal', 'all'],
  DeleteResponse: ['id', 'pid', 'exitStatus', 'exitedAt'],
  WaitResponse: ['exitStatus', 'exitedAt', 'oomKilled'],
  AttachRequest: ['containerId', 'execId', 'stdin', 'stdout', 'stderr', 'data', 'closeStdin', 'logs'],
  AttachResponse: ['ready', 'stream', 'data', 'exited', 'exitStatus', 'exitedAt'],
};

export function toTimestamp(ms: number): Timestamp {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function timestampMs(t: Timestamp | null | undefined): number {
  if (!t) return 0;
  return Number(t.seconds) * 1000 + Math.floor(t.nanos / 1_000_000);
}
