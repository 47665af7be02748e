/**
 * The bundle a task's runtime reads: `<dir>/config.json`, the container's
 * stored spec with root.path set to its root filesystem, written to a temp
 * name and renamed (atomic, not fsynced: see writeBundle).
 */
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition, invalidArgument } from '../../common/errors.js';
import type { ContainerRecord } from '../containers/store.js';
import { ROOTFS } from './rootfs.js';

interface SpecShape {
  root?: { path?: string; readonly?: boolean };
  process?: { terminal?: boolean };
  linux?: { cgroupsPath?: string };
}

/**
 * The spec to run, and whether its init wants a terminal. A container on a
 * snapshot gets `<bundleDir>/rootfs` as its root, where rootfs.ts mounts
 * the snapshot; otherwise its rootfs field or its spec's root.path.
 */
export function bundleSpec(c: ContainerRecord, bundleDir?: string): { spec: SpecShape; terminal: boolean } {
  let spec: SpecShape;
  try { spec = JSON.parse(c.spec.toString('utf8')) as SpecShape; } catch (err) {
    throw invalidArgument(`cannot create task ${c.id}: the container's spec is not valid JSON: ${(err as Error).message}`);
  }
  const root = c.snapshotKey !== '' && bundleDir !== undefined ? join(bundleDir, ROOTFS)
    : c.rootfs !== '' ? c.rootfs : spec.root?.path ?? '';
  if (!root.startsWith('/')) throw failedPrecondition(`cannot create task ${c.id}: the container has no root filesystem (rootfs is empty)`);
  spec.root = { ...spec.root, path: root };
  // one cgroup per namespace and id, so equal ids in two namespaces never share one
  if (spec.linux && spec.linux.cgroupsPath === undefined) spec.linux.cgroupsPath = `/berth-${c.namespace}-${c.id}`;
  return { spec, terminal: spec.process?.terminal === true };
}

/**
 * No fsync: the bundle lives under the core's volatile state root
 * (/run/berth/core) and is rewritten by every Tasks.Create from the durable
 * container record. A kill -9 of the core or the shim loses nothing the page
 * cache holds, and after a power loss or reboot the task it served is gone
 * with it. The rename still makes it atomic for a runtime reading it.
 */
export function writeBundle(dir: string, spec: unknown): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, '.config.json.tmp');
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(spec));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, 'config.json'));
}
