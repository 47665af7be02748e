/**
 * Exec processes of the core's tasks as the core keeps them (implemented by
 * metadata/execs.ts): an exec is added (its process spec kept), then started
 * through the shim. The rows outlive a restart of the core, so a running
 * exec is waited on again and a finished one still reports its exit.
 */

export type ExecStatusName = 'created' | 'running' | 'stopped';

export interface ExecRecord {
  execId: string;
  process: Record<string, unknown>;
  terminal: boolean;
  /** its stdin is a pipe the shim holds (Attach feeds it, CloseIO closes it) */
  stdin: boolean;
  /** its json-file log */
  log: string;
  pid: number;
  status: ExecStatusName;
  exitStatus: number;
  /** nanoseconds since the epoch, 0n until it exits */
  exitedAt: bigint;
  /** why it stopped other than by exiting (its shim died) */
  reason: string;
}

export type ExecChange = Partial<Pick<ExecRecord, 'pid' | 'status' | 'exitStatus' | 'exitedAt' | 'reason'>>;

export interface ExecStore {
  /** throws already-exists */
  add(namespace: string, taskId: string, record: ExecRecord): ExecRecord;
  find(namespace: string, taskId: string, execId: string): ExecRecord | undefined;
  /** throws not-found */
  get(namespace: string, taskId: string, execId: string): ExecRecord;
  list(namespace: string, taskId: string): ExecRecord[];
  update(namespace: string, taskId: string, execId: string, change: ExecChange): ExecRecord;
  remove(namespace: string, taskId: string, execId: string): void;
  /** every exec of a task, when the task is deleted */
  dropTask(namespace: string, taskId: string): void;
}
