/**
 * Exec processes of the core's tasks, in memory: an exec is added (its
 * process spec kept), then started through the shim. They are not kept
 * across a restart of the core (the shim still runs and logs them).
 */
import { alreadyExists, notFound } from '../../common/errors.js';
import type { TaskExit } from './manager.js';

export interface ExecRecord {
  execId: string;
  process: Record<string, unknown>;
  terminal: boolean;
  /** its json-file log */
  log: string;
  pid: number;
  status: 'created' | 'running' | 'stopped';
  exitStatus: number;
  exitedAt: bigint;
  /** set when started: settles when it exits */
  exited?: Promise<TaskExit>;
}

export class ExecTable {
  private readonly byTask = new Map<string, Map<string, ExecRecord>>();

  private table(ns: string, id: string): Map<string, ExecRecord> {
    const k = `${ns}/${id}`;
    let m = this.byTask.get(k);
    if (!m) { m = new Map(); this.byTask.set(k, m); }
    return m;
  }

  add(ns: string, id: string, execId: string, process: Record<string, unknown>, terminal: boolean, log: string): ExecRecord {
    const m = this.table(ns, id);
    if (m.has(execId)) throw alreadyExists(`exec ${execId} already exists in task ${id}`);
    const rec: ExecRecord = { execId, process, terminal, log, pid: 0, status: 'created', exitStatus: 0, exitedAt: 0n };
    m.set(execId, rec);
    return rec;
  }

  get(ns: string, id: string, execId: string): ExecRecord {
    const rec = this.byTask.get(`${ns}/${id}`)?.get(execId);
    if (!rec) throw notFound(`exec ${execId} not found in task ${id}`);
    return rec;
  }

  list(ns: string, id: string): ExecRecord[] {
    return [...(this.byTask.get(`${ns}/${id}`)?.values() ?? [])];
  }

  remove(ns: string, id: string, execId: string): void {
    this.byTask.get(`${ns}/${id}`)?.delete(execId);
  }

  dropTask(ns: string, id: string): void {
    this.byTask.delete(`${ns}/${id}`);
  }
}
