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
export interface CreateTaskResponse { containerId: string; pid: number }
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
export interface WaitResponse { exitStatus: number; exitedAt: Timestamp | null }
export interface MetricsRequest { filters: string[] }
export interface Metric { timestamp: Timestamp | null; id: string; data: Buffer }
export interface MetricsResponse { metrics: Metric[] }
export interface AttachRequest { containerId: string; execId: string; stdin: boolean; stdout: boolean; stderr: boolean; data: Buffer; closeStdin: boolean }
export interface AttachResponse { ready: boolean; stream: string; data: Buffer; exited: boolean; exitStatus: number; exitedAt: Timestamp | null }
export interface UpdateTaskRequest { containerId: string; resources: Buffer; annotations: Labels }

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
}

/** Server-streaming methods, outside the unary table. */
export interface StreamingApi {
  Events: { Subscribe: [SubscribeRequest, Envelope] };
}

/** Bidirectional streaming methods. */
export interface DuplexApi {
  Tasks: { Attach: [AttachRequest, AttachResponse] };
}

/** Field names of each message, for the drift test against the .proto files. */
export const MESSAGE_FIELDS: Record<string, string[]> = {
  Namespace: ['name', 'labels', 'createdAt'],
  Runtime: ['name', 'options'],
  Container: ['id', 'image', 'spec', 'runtime', 'rootfs', 'snapshotKey', 'labels', 'createdAt', 'updatedAt'],
  Envelope: ['timestamp', 'namespace', 'topic', 'event'],
  Process: ['containerId', 'execId', 'pid', 'status', 'stdin', 'stdout', 'stderr', 'terminal', 'exitStatus', 'exitedAt', 'reason'],
  DeleteTaskRequest: ['containerId', 'force'],
  UpdateNamespaceRequest: ['name', 'setLabels', 'removeLabels'],
  UpdateContainerRequest: ['container', 'updateMask'],
  SubscribeRequest: ['topics', 'namespaces'],
  CreateTaskRequest: ['containerId', 'stdin', 'stdout', 'stderr', 'terminal', 'options'],
  ExecProcessRequest: ['containerId', 'execId', 'stdin', 'stdout', 'stderr', 'terminal', 'spec'],
  KillRequest: ['containerId', 'execId', 'signal', 'all'],
  DeleteResponse: ['id', 'pid', 'exitStatus', 'exitedAt'],
  WaitResponse: ['exitStatus', 'exitedAt'],
  AttachRequest: ['containerId', 'execId', 'stdin', 'stdout', 'stderr', 'data', 'closeStdin'],
  AttachResponse: ['ready', 'stream', 'data', 'exited', 'exitStatus', 'exitedAt'],
};

export function toTimestamp(ms: number): Timestamp {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function timestampMs(t: Timestamp | null | undefined): number {
  if (!t) return 0;
  return Number(t.seconds) * 1000 + Math.floor(t.nanos / 1_000_000);
}
