/**
 * What a create left when berthd died in its middle (kill -9 between the
 * core calls and the record's save): the container's snapshot (labeled
 * berthd.container), its core container and its files under the data root,
 * with no record in berthd's store. The create's own undo never ran, and no
 * client was told the container exists, so they are removed at restore.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../common/log.js';
import type { CoreClient } from '../../core/client.js';
import type { DaemonConfig } from '../config.js';

const ID = /^[0-9a-f]{64}$/;
const SNAPSHOTTERS = ['overlayfs', 'native'];

export async function dropOrphans(core: CoreClient, known: (id: string) => boolean, config: DaemonConfig, log: Logger): Promise<void> {
  const { tasks } = await core.tasks.List({ filters: [] });
  const withTask = new Set(tasks.map((t) => t.containerId));
  const { containers } = await core.containers.List({ filters: [] });
  for (const c of containers) {
    if (known(c.id) || withTask.has(c.id) || c.labels['berthd.name'] === undefined) continue;
    await core.containers.Delete({ id: c.id }).then(() => log.warn('removed the core container of an unfinished create', { id: c.id }))
      .catch((err: unknown) => log.warn('cannot remove an orphan core container', { id: c.id, error: (err as Error).message }));
  }
  for (const snapshotter of SNAPSHOTTERS) {
    const { info } = await core.snapshots.List({ snapshotter, filters: [] }).catch(() => ({ info: [] }));
    for (const s of info) {
      const owner = s.labels['berthd.container'];
      if (owner === undefined || known(owner) || s.name !== owner) continue;
      await core.snapshots.Remove({ snapshotter, key: s.name }).then(() => log.warn('removed the snapshot of an unfinished create', { id: owner }))
        .catch((err: unknown) => log.warn('cannot remove an orphan snapshot', { id: owner, error: (err as Error).message }));
    }
  }
  const dir = join(config.dataRoot, 'containers');
  let names: string[] = [];
  try { names = readdirSync(dir); } catch { /* none yet */ }
  for (const n of names) if (ID.test(n) && !known(n)) rmSync(join(dir, n), { recursive: true, force: true });
}
