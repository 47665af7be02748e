/**
 * Snapshotters by name. `overlayfs` checks at open that overlay mounts work
 * in `<root>/snapshots/overlayfs` and throws `unavailable` when they do not;
 * the core then uses `native` (see `openDefaultSnapshotter`).
 */
import { BerthError, invalidArgument } from '../../common/errors.js';
import type { Db } from '../metadata/db.js';
import { NativeSnapshotter } from './native.js';
import { OverlaySnapshotter } from './overlay.js';
import type { Snapshotter } from './types.js';

export type SnapshotterName = 'overlayfs' | 'native';

export function openSnapshotter(db: Db, root: string, name: SnapshotterName): Snapshotter {
  if (name === 'overlayfs') return new OverlaySnapshotter(db, root);
  if (name === 'native') return new NativeSnapshotter(db, root);
  throw invalidArgument(`unknown snapshotter ${String(name)} (known: overlayfs, native)`);
}

/** overlayfs when it works on this file system, else native; `fellBack` carries why overlay was not used. */
export function openDefaultSnapshotter(db: Db, root: string): { snapshotter: Snapshotter; fellBack?: string } {
  try {
    return { snapshotter: openSnapshotter(db, root, 'overlayfs') };
  } catch (err) {
    if (!(err instanceof BerthError) || err.kind !== 'unavailable') throw err;
    return { snapshotter: openSnapshotter(db, root, 'native'), fellBack: err.message };
  }
}

export { mountAll, unmountAll, isMountPoint } from './mount.js';
export type { Mount, Snapshotter, SnapshotInfo, SnapshotUsage } from './types.js';
