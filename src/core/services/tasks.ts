/**
 * The Tasks service: checks what a caller sends and hands it to the task
 * manager (src/core/tasks/), which drives one berth-shim per container.
 * A process's `stdout`/`stderr` name its json-file log, so a client on this
 * host can read the output. A request's `stdin` asks for a stdin pipe held by
 * the shim when non-empty (Process.stdin then says "attach"): Attach
 * (attach.ts) feeds it and CloseIO closes it.
 */
import { invalidArgument } from '../../common/errors.js';
import type { Process, TaskStatus, Timestamp } from '../api/types.js';
import { checkIdentifier } from '../identifiers.js';
import type { ExecRecord } from '../tasks/execs.js';
import type { TaskManager } from '../tasks/manager.js';
import type { TaskRecord, TaskStatusName } from '../tasks/store.js';
import type { UnaryHandlers } from './context.js';

const STATUS: Record<TaskStatusName, TaskStatus> = {
  creating: 'UNKNOWN', created: 'CREATED', running: 'RUNNING', paused: 'PAUSED', stopped: 'STOPPED',
};

export function timestampOfNs(ns: bigint): Timestamp | null {
  if (ns === 0n) return null;
  return { seconds: String(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) };
}

/** What Process.stdin says of a process whose stdin is the shim's pipe (any non-empty value asks for one). */
export const STDIN_ATTACH = 'attach';

/** reason: the stored one (a failed task), else a fault of the live task (its log's disk is full). */
export const taskProcess = (t: TaskRecord, reason = t.reason): Process => ({
  containerId: t.id, execId: '', pid: t.pid, status: STATUS[t.status], stdin: t.stdin ? STDIN_ATTACH : '', stdout: t.log, stderr: t.log,
  terminal: t.terminal, exitStatus: t.exitStatus, exitedAt: timestampOfNs(t.exitedAt), reason, oomKilled: t.oomKilled,
  shimAddress: t.status === 'stopped' ? '' : t.socket,
});

const execProcess = (t: TaskRecord, e: ExecRecord): Process => ({
  containerId: t.id, execId: e.execId, pid: e.pid, status: STATUS[e.status], stdin: e.stdin ? STDIN_ATTACH : '', stdout: e.log, stderr: e.log,
  terminal: e.terminal, exitStatus: e.exitStatus, exitedAt: timestampOfNs(e.exitedAt), reason: '', oomKilled: false,
  shimAddress: e.status === 'stopped' || t.status === 'stopped' ? '' : t.socket,
});

const cid = (id: string): string => checkIdentifier('container', id);
const eid = (id: string): string => {
  try { return checkIdentifier('container', id); } catch {
    throw invalidArgument(`invalid exec id ${JSON.stringify(id)}: use 1-76 letters, digits, '_', '.' or '-', starting with a letter or digit`);
  }
};

/** Metrics filters: `id==X` (or `id=X`); none: every live task of the namespace. */
function metricIds(filters: string[]): string[] | undefined {
  if (filters.length === 0) return undefined;
  return filters.map((f) => {
    const m = /^id==?(.+)$/.exec(f.trim());
    if (!m) throw invalidArgument(`cannot get metrics: unsupported filter ${JSON.stringify(f)} (use id==ID)`);
    return m[1]!;
  });
}

export function tasksService(tasks: TaskManager): UnaryHandlers<'Tasks'> {
  return {
    Create: async (req, call) => {
      const t = await tasks.create(call.namespace, cid(req.containerId), { terminal: req.terminal, stdin: req.stdin !== '' });
      return { containerId: t.id, pid: t.pid, shimAddress: t.socket };
    },
    Start: async (req, call) => {
      const id = cid(req.containerId);
      const pid = req.execId ? await tasks.startExec(call.namespace, id, eid(req.execId)) : await tasks.start(call.namespace, id);
      return { pid };
    },
    Delete: async (req, call) => {
      const t = await tasks.delete(call.namespace, cid(req.containerId), { force: req.force === true });
      return { id: t.id, pid: t.pid, exitStatus: t.exitStatus, exitedAt: timestampOfNs(t.exitedAt) };
    },
    DeleteProcess: async (req, call) => {
      const id = cid(req.containerId);
      tasks.get(call.namespace, id);
      const e = await tasks.deleteExec(call.namespace, id, eid(req.execId));
      return { id: e.execId, pid: e.pid, exitStatus: e.exitStatus, exitedAt: timestampOfNs(e.exitedAt) };
    },
    State: async (req, call) => {
      const id = cid(req.containerId);
      const t = tasks.get(call.namespace, id);
      if (req.execId) return { process: execProcess(t, tasks.execs.get(call.namespace, id, eid(req.execId))) };
      const { task, reason } = await tasks.view(t);
      return { process: taskProcess(task, reason) };
    },
    List: async (_req, call) => ({
      tasks: (await Promise.all(tasks.list(call.namespace).map((t) => tasks.view(t)))).map(({ task, reason }) => taskProcess(task, reason)),
    }),
    Kill: async (req, call) => {
      const id = cid(req.containerId);
      if (req.execId) { tasks.get(call.namespace, id); tasks.killExec(call.namespace, id, eid(req.execId), req.signal); } else await tasks.kill(call.namespace, id, req.signal, req.all);
      return {};
    },
    Exec: (req, call) => {
      tasks.addExec(call.namespace, cid(req.containerId), eid(req.execId), req.spec, req.terminal, req.stdin !== '');
      return {};
    },
    ResizePty: async (req, call) => {
      await tasks.resize(call.namespace, cid(req.containerId), req.execId ? eid(req.execId) : '', req.height, req.width);
      return {};
    },
    CloseIO: async (req, call) => {
      if (req.stdin) await tasks.closeStdin(call.namespace, cid(req.containerId), req.execId ? eid(req.execId) : '');
      return {};
    },
    Pause: async (req, call) => { await tasks.pause(call.namespace, cid(req.containerId), false); return {}; },
    Resume: async (req, call) => { await tasks.pause(call.namespace, cid(req.containerId), true); return {}; },
    Wait: async (req, call) => {
      const id = cid(req.containerId);
      const x = req.execId ? await tasks.waitExec(call.namespace, id, eid(req.execId)) : await tasks.wait(call.namespace, id);
      return { exitStatus: x.status, exitedAt: timestampOfNs(x.exitedAt), oomKilled: x.oomKilled === true };
    },
    Metrics: async (req, call) => {
      const ids = metricIds(req.filters);
      const chosen = tasks.list(call.namespace).filter((t) => (ids ? ids.includes(t.id) : t.status === 'running' || t.status === 'paused'));
      const metrics = [];
      for (const t of chosen) {
        const data = await tasks.metrics(t);
        metrics.push({ timestamp: timestampOfNs(BigInt(Date.now()) * 1_000_000n), id: t.id, data });
      }
      return { metrics };
    },
    Update: async (req, call) => {
      await tasks.update(call.namespace, cid(req.containerId), req.resources);
      return {};
    },
  };
}
