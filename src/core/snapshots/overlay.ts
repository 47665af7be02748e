/**
 * The overlayfs snapshotter: a committed snapshot is a read-only layer
 * (`<id>/fs`); an active one is an overlay upper directory (`fs`, with its
 * `work`) over its parent chain, or a plain bind of `fs` when it has no
 * parent; a view is a read-only bind (one parent) or a lowerdir-only
 * overlay. Layers applied into an active snapshot write deletions in
 * overlay's own form (whiteouts 'overlay').
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unavailable } from '../../common/errors.js';
import { native } from '../../common/native.js';
import type { Db } from '../metadata/db.js';
import { DirSnapshotter } from './base.js';
import { unmountAll } from './mount.js';
import type { SnapshotRow } from './table.js';
import type { Mount, SnapshotKind } from './types.js';

export class OverlaySnapshotter extends DirSnapshotter {
  readonly whiteouts = 'overlay';

  constructor(db: Db, root: string) {
    super(db, root, 'overlayfs');
    checkOverlay(this.home);
  }

  protected async create(dir: string, kind: SnapshotKind, _chain: SnapshotRow[]): Promise<void> {
    mkdirSync(join(dir, 'fs'), { recursive: true, mode: 0o755 });
    if (kind === 'active') mkdirSync(join(dir, 'work'), { mode: 0o700 });
  }

  protected mountsOf(r: SnapshotRow, chain: SnapshotRow[]): Mount[] {
    const lower = chain.map((p) => this.fsOf(p)).join(':');
    if (r.kind === 'view') {
      if (chain.length === 0) return [{ type: 'bind', source: this.fsOf(r), options: ['rbind', 'ro'] }];
      if (chain.length === 1) return [{ type: 'bind', source: lower, options: ['rbind', 'ro'] }];
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`] }];
    }
    if (chain.length === 0) return [{ type: 'bind', source: this.fsOf(r), options: ['rbind', 'rw'] }];
    return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${this.fsOf(r)}`, `workdir=${join(this.dirOf(r), 'work')}`] }];
  }
}

/** Mounts a tiny overlay in dir (the file system snapshots will live on); throws `unavailable` when overlay does not work there. */
export function checkOverlay(dir: string): void {
  const t = mkdtempSync(join(dir, '.check-'));
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(t, d));
    writeFileSync(join(t, 'lower', 'f'), '');
    try {
      native().mount('overlay', join(t, 'merged'), 'overlay', 0, `lowerdir=${join(t, 'lower')},upperdir=${join(t, 'upper')},workdir=${join(t, 'work')}`);
    } catch (err) {
      throw unavailable(`overlayfs cannot be used in ${dir}: ${(err as Error).message}`);
    }
    unmountAll(join(t, 'merged'));
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
}
