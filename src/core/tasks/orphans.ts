/**
 * Bundles without a task. Tasks.Delete answers once the shim has deleted the
 * container and the task row is gone; the bundle directory (and a snapshot
 * mounted in it) is removed after the answer, off the caller's path. A core
 * that dies in between leaves `<state>/<ns>/<id>` with no row: nothing else
 * would ever remove it, so recovery does (sweepOrphanBundles). A bundle with
 * a row is never touched: the row is written before the bundle and deleted
 * only once its shim has deleted the container.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Names under the state root that are not namespaces: the shims' sockets (paths.ts), the planner socket, the lock. */
const NOT_NAMESPACES = new Set(['s']);

/** Every `<state>/<ns>/<id>` directory for which hasTask(ns, id) is false. */
export function orphanBundles(state: string, hasTask: (namespace: string, id: string) => boolean): string[] {
  const out: string[] = [];
  for (const ns of dirsIn(state)) {
    if (NOT_NAMESPACES.has(ns)) continue;
    for (const id of dirsIn(join(state, ns))) if (!hasTask(ns, id)) out.push(join(state, ns, id));
  }
  return out;
}

/** Removes every orphan bundle with remove (which unmounts first); one that cannot be removed goes to onError and stays for the next start. */
export function sweepOrphanBundles(state: string, hasTask: (namespace: string, id: string) => boolean, remove: (dir: string) => void, onError: (dir: string, err: unknown) => void): string[] {
  const removed: string[] = [];
  for (const dir of orphanBundles(state, hasTask)) {
    try { remove(dir); removed.push(dir); } catch (err) { onError(dir, err); }
  }
  return removed;
}

function dirsIn(dir: string): string[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  return names.filter((n) => {
    try { return statSync(join(dir, n)).isDirectory(); } catch { return false; }
  });
}
