/** The execs table: ExecStore over SQLite, every write one transaction, durable against process death (volatileTransaction). */
import { alreadyExists, notFound } from '../../common/errors.js';
import type { ExecChange, ExecRecord, ExecStatusName, ExecStore } from '../tasks/execs.js';
import { volatileTransaction, type Db } from './db.js';

interface Row {
  exec_id: string; process: string; terminal: number; stdin: number; log: string; pid: number; status: string;
  exit_status: number; exited_at: string; reason: string;
}

const COLUMNS = 'exec_id, process, terminal, stdin, log, pid, status, exit_status, exited_at, reason';

const toRecord = (r: Row): ExecRecord => ({
  execId: r.exec_id, process: JSON.parse(r.process) as Record<string, unknown>, terminal: r.terminal !== 0, stdin: r.stdin !== 0, log: r.log,
  pid: r.pid, status: r.status as ExecStatusName, exitStatus: r.exit_status, exitedAt: BigInt(r.exited_at), reason: r.reason,
});

export function execStore(db: Db): ExecStore {
  const selectOne = db.prepare(`SELECT ${COLUMNS} FROM execs WHERE namespace = ? AND task_id = ? AND exec_id = ?`);
  const selectTask = db.prepare(`SELECT ${COLUMNS} FROM execs WHERE namespace = ? AND task_id = ? ORDER BY created_at, exec_id`);
  const insert = db.prepare(`INSERT INTO execs (namespace, task_id, ${COLUMNS}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const replace = db.prepare(`UPDATE execs SET pid = ?, status = ?, exit_status = ?, exited_at = ?, reason = ?
    WHERE namespace = ? AND task_id = ? AND exec_id = ?`);
  const removeOne = db.prepare('DELETE FROM execs WHERE namespace = ? AND task_id = ? AND exec_id = ?');
  const removeTask = db.prepare('DELETE FROM execs WHERE namespace = ? AND task_id = ?');

  const find = (ns: string, id: string, execId: string): ExecRecord | undefined => {
    const row = selectOne.get(ns, id, execId) as Row | undefined;
    return row ? toRecord(row) : undefined;
  };
  const get = (ns: string, id: string, execId: string): ExecRecord => {
    const found = find(ns, id, execId);
    if (!found) throw notFound(`exec ${execId} not found in task ${id}`);
    return found;
  };

  return {
    find,
    get,
    list: (ns, id) => (selectTask.all(ns, id) as Row[]).map(toRecord),
    add: volatileTransaction(db, (ns: string, id: string, r: ExecRecord): ExecRecord => {
      if (find(ns, id, r.execId)) throw alreadyExists(`exec ${r.execId} already exists in task ${id}`);
      insert.run(ns, id, r.execId, JSON.stringify(r.process), r.terminal ? 1 : 0, r.stdin ? 1 : 0, r.log, r.pid, r.status,
        r.exitStatus, String(r.exitedAt), r.reason, Date.now());
      return r;
    }),
    update: volatileTransaction(db, (ns: string, id: string, execId: string, change: ExecChange): ExecRecord => {
      const next = { ...get(ns, id, execId), ...change };
      replace.run(next.pid, next.status, next.exitStatus, String(next.exitedAt), next.reason, ns, id, execId);
      return next;
    }),
    remove: volatileTransaction(db, (ns: string, id: string, execId: string): void => { removeOne.run(ns, id, execId); }),
    dropTask: volatileTransaction(db, (ns: string, id: string): void => { removeTask.run(ns, id); }),
  };
}
