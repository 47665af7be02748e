/**
 * A task's root filesystem from its container's snapshot: when the
 * container names a snapshot (`snapshotKey`, in `snapshotter`), the core
 * mounts the snapshot's mounts at `<bundle>/rootfs` before the shim starts
 * the runtime, and unmounts them before the bundle is removed — at delete,
 * after a failed create, after a dead shim. A bundle is never removed while
 * something is mounted in it: rm would walk into the container's snapshot.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, wrap } from '../../common/errors.js';
import type { ContainerRecord } from '../containers/store.js';
import { mountAll, unmountAll } from '../snapshots/mount.js';
import type { Snapshotter } from '../snapshots/types.js';

/** The snapshotter of that name ("" for the core's default), if the core has it. */
export type SnapshotterLookup = (name: string) => Snapshotter | undefined;

export const ROOTFS = 'rootfs';

/** The snapshotter a container names; the field arrives with the image half's container API. */
function snapshotterName(c: ContainerRecord): string {
  const v = (c as ContainerRecord & { snapshotter?: unknown }).snapshotter;
  return typeof v === 'string' ? v : '';
}

/** Whether the container's root filesystem is a snapshot (else its spec's root.path or `rootfs`). */
export function usesSnapshot(c: ContainerRecord): boolean {
  return c.snapshotKey !== '';
}

/** Mounts the container's snapshot at `<bundleDir>/rootfs` and returns that path; undefined for a container without one. */
export function mountRootfs(c: ContainerRecord, bundleDir: string, lookup: SnapshotterLookup | undefined): string | undefined {
  if (!usesSnapshot(c)) return undefined;
  const name = snapshotterName(c);
  const snapshotter = lookup?.(name);
  if (!snapshotter) throw failedPrecondition(`cannot mount the root filesystem of container ${c.id}: snapshotter ${name === '' ? '(default)' : name} is not available in this core`);
  const mounts = snapshotter.mounts(c.namespace, c.snapshotKey);
  const target = join(bundleDir, ROOTFS);
  mkdirSync(target, { recursive: true, mode: 0o755 });
  try {
    mountAll(mounts, target);
  } catch (err) {
    throw wrap(`cannot mount snapshot ${c.snapshotKey} for container ${c.id}`, err);
  }
  return target;
}

/** Unmounts whatever is mounted at `<bundleDir>/rootfs` (nothing is fine). */
export function unmountRootfs(bundleDir: string): void {
  unmountAll(join(bundleDir, ROOTFS));
}

/** Removes a task's bundle, its root filesystem unmounted first. */
export function removeBundle(bundleDir: string): void {
  unmountRootfs(bundleDir);
  rmSync(bundleDir, { recursive: true, force: true });
}

/**
 * removeBundle in two halves, for a deleted task. The root filesystem is
 * unmounted now (the caller may remove the snapshot as soon as the delete
 * answers); the mount table is read only when one was mounted (a bundle has
 * a rootfs directory only then, bundle.ts). The returned promise removes
 * the files after the answer, in the thread pool, with the shim's socket
 * (a shim that exits removes it itself).
 */
export function removeBundleLater(bundleDir: string, socket: string): Promise<void> {
  if (existsSync(join(bundleDir, ROOTFS))) unmountRootfs(bundleDir);
  return (async () => {
    await new Promise((r) => setImmediate(r));
    await rm(bundleDir, { recursive: true, force: true });
    await rm(socket, { force: true });
  })();
}
