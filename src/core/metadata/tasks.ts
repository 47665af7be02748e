/** The tasks table: TaskStore over SQLite, every write one transaction, durable against process death (volatileTransaction). */
import { alreadyExists, notFound } from '../../common/errors.js';
import type { NewTask, TaskChange, TaskRecord, TaskStatusName, TaskStore } from '../tasks/store.js';
import { volatileTransaction, type Db } from './db.js';

interface Row {
  namespace: string; id: string; status: string; pid: number; shim_pid: number; socket: string; bundle: string;
  shim_state: string; runtime_path: string; runtime_args: string; log: string; terminal: number; stdin: number;
  exit_status: number; exited_at: string; reason: string; oom_killed: number; created_at: number;
}

const COLUMNS = 'namespace, id, status, pid, shim_pid, socket, bundle, shim_state, runtime_path, runtime_args, log, terminal, stdin, exit_status, exited_at, reason, oom_killed, created_at';

const toRecord = (r: Row): TaskRecord => ({
  namespace: r.namespace, id: r.id, status: r.status as TaskStatusName, pid: r.pid, shimPid: r.shim_pid,
  socket: r.socket, bundle: r.bundle, shimState: r.shim_state, runtimePath: r.runtime_path,
  runtimeArgs: JSON.parse(r.runtime_args) as string[], log: r.log, terminal: r.terminal !== 0, stdin: r.stdin !== 0,
  exitStatus: r.exit_status, exitedAt: BigInt(r.exited_at), reason: r.reason, oomKilled: r.oom_killed !== 0, createdAt: r.created_at,
});

export function taskStore(db: Db): TaskStore {
  const selectOne = db.prepare(`SELECT ${COLUMNS} FROM tasks WHERE namespace = ? AND id = ?`);
  const selectNs = db.prepare(`SELECT ${COLUMNS} FROM tasks WHERE namespace = ? ORDER BY id`);
  const selectAll = db.prepare(`SELECT ${COLUMNS} FROM tasks ORDER BY namespace, id`);
  const insert = db.prepare(`INSERT INTO tasks (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const replace = db.prepare(`UPDATE tasks SET status = ?, pid = ?, shim_pid = ?, exit_status = ?, exited_at = ?, reason = ?, oom_killed = ?
    WHERE namespace = ? AND id = ?`);
  const remove = db.prepare('DELETE FROM tasks WHERE namespace = ? AND id = ?');

  const find = (ns: string, id: string): TaskRecord | undefined => {
    const row = selectOne.get(ns, id) as Row | undefined;
    return row ? toRecord(row) : undefined;
  };
  const get = (ns: string, id: string): TaskRecord => {
    const found = find(ns, id);
    if (!found) throw notFound(`task ${id} not found in namespace ${ns}`);
    return found;
  };

  return {
    find,
    get,
    list: (ns) => (selectNs.all(ns) as Row[]).map(toRecord),
    all: () => (selectAll.all() as Row[]).map(toRecord),
    create: volatileTransaction(db, (r: NewTask): TaskRecord => {
      if (find(r.namespace, r.id)) throw alreadyExists(`task ${r.id} already exists in namespace ${r.namespace}`);
      const now = Date.now();
      insert.run(r.namespace, r.id, r.status, r.pid, r.shimPid, r.socket, r.bundle, r.shimState, r.runtimePath,
        JSON.stringify(r.runtimeArgs), r.log, r.terminal ? 1 : 0, r.stdin ? 1 : 0, r.exitStatus, String(r.exitedAt), r.reason, r.oomKilled === true ? 1 : 0, now);
      return { ...r, oomKilled: r.oomKilled === true, createdAt: now };
    }),
    update: volatileTransaction(db, (ns: string, id: string, change: TaskChange): TaskRecord => {
      const next = { ...get(ns, id), ...change };
      replace.run(next.status, next.pid, next.shimPid, next.exitStatus, String(next.exitedAt), next.reason, next.oomKilled ? 1 : 0, ns, id);
      return next;
    }),
    delete: volatileTransaction(db, (ns: string, id: string): void => { remove.run(ns, id); }),
  };
}
