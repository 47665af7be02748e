/** Tasks as the core keeps them; implemented by metadata/tasks.ts. */

/**
 * creating: the row is written, the shim not yet up; created/running/paused:
 * the shim answers; stopped: the init has exited (or its shim died: reason).
 */
export type TaskStatusName = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface TaskRecord {
  namespace: string;
  id: string;
  status: TaskStatusName;
  /** host pid of the init (0 before create) */
  pid: number;
  shimPid: number;
  socket: string;
  /** the bundle directory (config.json) */
  bundle: string;
  /** the shim's --state-dir (exit record, runtime root) */
  shimState: string;
  runtimePath: string;
  runtimeArgs: string[];
  /** the init's json-file log */
  log: string;
  terminal: boolean;
  /** the init's stdin is a pipe the shim holds (Attach feeds it, CloseIO closes it) */
  stdin: boolean;
  exitStatus: number;
  /** nanoseconds since the epoch, 0n while running */
  exitedAt: bigint;
  /** why a task stopped other than by its init exiting (its shim died) */
  reason: string;
  /** the OOM killer killed a process of the task (its memory cgroup's oom_kill count, read at the exit) */
  oomKilled: boolean;
  createdAt: number;
}

export type TaskChange = Partial<Pick<TaskRecord, 'status' | 'pid' | 'shimPid' | 'exitStatus' | 'exitedAt' | 'reason' | 'oomKilled'>>;

/** A new row: oomKilled starts false unless given. */
export type NewTask = Omit<TaskRecord, 'createdAt' | 'oomKilled'> & { oomKilled?: boolean };

export interface TaskStore {
  find(namespace: string, id: string): TaskRecord | undefined;
  get(namespace: string, id: string): TaskRecord;
  list(namespace: string): TaskRecord[];
  all(): TaskRecord[];
  /** throws already-exists */
  create(record: NewTask): TaskRecord;
  update(namespace: string, id: string, change: TaskChange): TaskRecord;
  delete(namespace: string, id: string): void;
}
