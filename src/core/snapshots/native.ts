/**
 * The native snapshotter, for file systems where overlay does not work: an
 * active snapshot or a view is a full copy of its parent (copy.ts; never
 * hard links into the parent, so a container cannot change a layer), shown
 * by a bind mount. Layers applied into it delete for real (whiteouts
 * 'delete').
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../metadata/db.js';
import { DirSnapshotter } from './base.js';
import { copyTree } from './copy.js';
import type { SnapshotRow } from './table.js';
import type { Mount, SnapshotKind } from './types.js';

export class NativeSnapshotter extends DirSnapshotter {
  readonly whiteouts = 'delete';

  constructor(db: Db, root: string) {
    super(db, root, 'native');
  }

  protected async create(dir: string, _kind: SnapshotKind, chain: SnapshotRow[]): Promise<void> {
    const fs = join(dir, 'fs');
    mkdirSync(fs, { recursive: true, mode: 0o755 });
    if (chain.length > 0) copyTree(this.fsOf(chain[0]!), fs);
  }

  protected mountsOf(r: SnapshotRow, _chain: SnapshotRow[]): Mount[] {
    return [{ type: 'bind', source: this.fsOf(r), options: ['rbind', r.kind === 'view' ? 'ro' : 'rw'] }];
  }
}
