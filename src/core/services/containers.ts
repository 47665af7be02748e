/**
 * The Containers service: checks what a caller sends (id, spec JSON, a
 * runtime from the table, an absolute rootfs), stores it, publishes the
 * change. A container made in a namespace that does not exist yet creates
 * the namespace, in the same transaction (as containerd does).
 */
import { readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { failedPrecondition, invalidArgument } from '../../common/errors.js';
import type { Container, Labels } from '../api/types.js';
import { toTimestamp } from '../api/types.js';
import { matchesAny, parseFilter } from '../containers/filters.js';
import type { ContainerChange, ContainerField, ContainerRecord } from '../containers/store.js';
import { checkIdentifier } from '../identifiers.js';
import { taskPaths } from '../tasks/paths.js';
import type { ServiceContext, UnaryHandlers } from './context.js';

export const containerMessage = (r: ContainerRecord): Container => ({
  id: r.id, image: r.image, spec: r.spec, runtime: { name: r.runtime.name, options: r.runtime.options },
  rootfs: r.rootfs, snapshotKey: r.snapshotKey, snapshotter: r.snapshotter, labels: r.labels,
  createdAt: toTimestamp(r.createdAt), updatedAt: toTimestamp(r.updatedAt),
});

function checkSpec(id: string, spec: Buffer | undefined, required: boolean): Buffer {
  const bytes = spec ?? Buffer.alloc(0);
  if (bytes.length === 0) {
    if (required) throw invalidArgument(`cannot store container ${id}: an OCI spec is required`);
    return bytes;
  }
  let v: unknown;
  try { v = JSON.parse(bytes.toString('utf8')); } catch (err) {
    throw invalidArgument(`cannot store container ${id}: spec is not valid JSON: ${(err as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`cannot store container ${id}: spec must be a JSON object`);
  return bytes;
}

function checkRuntime(ctx: ServiceContext, id: string, name: string): string {
  const chosen = name === '' ? ctx.config.defaultRuntime : name;
  if (!ctx.config.runtimes[chosen]) {
    throw invalidArgument(`cannot store container ${id}: unknown runtime ${chosen} (configured: ${Object.keys(ctx.config.runtimes).sort().join(', ')})`);
  }
  return chosen;
}

function checkRootfs(id: string, rootfs: string): string {
  if (rootfs !== '' && !isAbsolute(rootfs)) throw invalidArgument(`cannot store container ${id}: rootfs ${rootfs} must be an absolute path`);
  return rootfs;
}

/** A container on a snapshot names its snapshotter: the core's default when the caller does not. */
function checkSnapshotter(ctx: ServiceContext, id: string, key: string, name: string): string {
  if (key === '') return name;
  const chosen = name === '' ? ctx.config.snapshotter : name;
  if (chosen !== 'overlayfs' && chosen !== 'native') throw invalidArgument(`cannot store container ${id}: unknown snapshotter ${chosen} (use overlayfs or native)`);
  return chosen;
}

const MASK_FIELDS: Record<string, ContainerField> = {
  labels: 'labels', spec: 'spec', runtime: 'runtime', snapshot_key: 'snapshotKey', snapshotKey: 'snapshotKey', snapshotter: 'snapshotter', image: 'image', rootfs: 'rootfs',
};

/** Reads an update mask into the change the store applies. */
export function changeFromMask(ctx: ServiceContext, c: Container, mask: string[]): ContainerChange {
  const change: ContainerChange = { fields: [], labels: {}, values: {} };
  const paths = mask.length === 0 ? ['labels', 'spec', 'runtime', 'snapshot_key', 'snapshotter', 'image', 'rootfs'] : mask;
  const labels: Labels = c.labels ?? {};
  for (const path of paths) {
    if (path.startsWith('labels.')) {
      const key = path.slice('labels.'.length);
      change.labels[key] = Object.prototype.hasOwnProperty.call(labels, key) ? labels[key]! : null;
      continue;
    }
    const field = MASK_FIELDS[path];
    if (!field) throw invalidArgument(`cannot update container ${c.id}: unknown field ${JSON.stringify(path)} in update mask (use labels, labels.KEY, spec, runtime, snapshot_key, snapshotter, image, rootfs)`);
    change.fields.push(field);
    if (field === 'labels') change.values.labels = { ...labels };
    if (field === 'spec') change.values.spec = checkSpec(c.id, c.spec, true);
    if (field === 'runtime') change.values.runtime = { name: checkRuntime(ctx, c.id, c.runtime?.name ?? ''), options: c.runtime?.options ?? Buffer.alloc(0) };
    if (field === 'snapshotKey') change.values.snapshotKey = c.snapshotKey ?? '';
    if (field === 'snapshotter') change.values.snapshotter = checkSnapshotter(ctx, c.id, c.snapshotKey ?? '', c.snapshotter ?? '');
    if (field === 'image') change.values.image = c.image ?? '';
    if (field === 'rootfs') change.values.rootfs = checkRootfs(c.id, c.rootfs ?? '');
  }
  return change;
}

/**
 * The container's log directory (<root>/<ns>/<id>/): its logs end with it.
 * It holds only log files (the init's, rotated ones, execs'): each is
 * unlinked and the directory removed, three or four system calls where a
 * recursive rm takes about ten (a failed rmdir, stats, an opendir).
 * Anything else in it falls back to the recursive removal.
 */
function removeLogDir(dir: string): void {
  let names: string[];
  try { names = readdirSync(dir); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    for (const name of names) unlinkSync(join(dir, name));
    rmdirSync(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}

function removeLogs(ctx: ServiceContext, ns: string, id: string): void {
  const { logDir } = taskPaths(ctx.config, ns, id);
  try { removeLogDir(logDir); } catch (err) {
    // the row is gone already: a directory that cannot be removed is reported, not fatal
    ctx.log.warn('cannot remove container logs', { namespace: ns, id, dir: logDir, error: (err as Error).message });
  }
}

export function containersService(ctx: ServiceContext): UnaryHandlers<'Containers'> {
  const { store, bus } = ctx;
  return {
    Get: (req, call) => ({ container: containerMessage(store.containers.get(call.namespace, checkIdentifier('container', req.id))) }),
    List: (req, call) => {
      const filters = (req.filters ?? []).map(parseFilter);
      return { containers: store.containers.list(call.namespace).filter((c) => matchesAny(c, filters)).map(containerMessage) };
    },
    Create: (req, call) => {
      const c = req.container;
      if (!c) throw invalidArgument('cannot create container: the request has no container');
      const id = checkIdentifier('container', c.id);
      const record = {
        namespace: call.namespace, id, image: c.image ?? '', spec: checkSpec(id, c.spec, true),
        runtime: { name: checkRuntime(ctx, id, c.runtime?.name ?? ''), options: c.runtime?.options ?? Buffer.alloc(0) },
        rootfs: checkRootfs(id, c.rootfs ?? ''), snapshotKey: c.snapshotKey ?? '',
        snapshotter: checkSnapshotter(ctx, id, c.snapshotKey ?? '', c.snapshotter ?? ''), labels: c.labels ?? {},
      };
      const { created, nsCreated } = store.transaction(() => {
        const ns = store.namespaces.ensure(call.namespace);
        return { created: store.containers.create(record), nsCreated: ns.created };
      });
      if (nsCreated) bus.publish(call.namespace, '/namespaces/create', { name: call.namespace, labels: {} });
      bus.publish(call.namespace, '/containers/create', { id, image: created.image, runtime: { name: created.runtime.name } });
      return { container: containerMessage(created) };
    },
    Update: (req, call) => {
      const c = req.container;
      if (!c) throw invalidArgument('cannot update container: the request has no container');
      const id = checkIdentifier('container', c.id);
      const updated = store.containers.update(call.namespace, id, changeFromMask(ctx, c, req.updateMask ?? []));
      bus.publish(call.namespace, '/containers/update', { id, image: updated.image, labels: updated.labels, snapshotKey: updated.snapshotKey });
      return { container: containerMessage(updated) };
    },
    Delete: (req, call) => {
      const id = checkIdentifier('container', req.id);
      // the logs are read until the task is gone; a container with a task keeps both
      if (store.tasks.find(call.namespace, id)) throw failedPrecondition(`cannot delete container ${id}: it has a task (delete the task first)`);
      store.containers.delete(call.namespace, id);
      removeLogs(ctx, call.namespace, id);
      bus.publish(call.namespace, '/containers/delete', { id });
      return {};
    },
  };
}
