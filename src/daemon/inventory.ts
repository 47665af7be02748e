/**
 * What the daemon holds, counted for /info and measured for /system/df.
 * The container, image and volume stores implement this as they land; until
 * then the core answers for containers and the rest is empty.
 */
import type { DiskUsage, DiskUsageKind } from '../api/index.js';
import type { CoreClient } from '../core/client.js';

export interface ContainerCounts { total: number; running: number; paused: number; stopped: number }

export interface Inventory {
  containers(): Promise<ContainerCounts>;
  images(): Promise<number>;
  diskUsage(kinds: DiskUsageKind[]): Promise<DiskUsage>;
}

/** The containers of the engine's namespace in the core, by their task's state. */
export class CoreInventory implements Inventory {
  constructor(private readonly core: CoreClient) {}

  async containers(): Promise<ContainerCounts> {
    const [{ containers }, { tasks }] = await Promise.all([this.core.containers.List({ filters: [] }), this.core.tasks.List({ filters: [] })]);
    const status = new Map(tasks.filter((t) => t.execId === '').map((t) => [t.containerId, t.status]));
    let running = 0;
    let paused = 0;
    for (const c of containers) {
      const s = status.get(c.id);
      if (s === 'RUNNING') running++;
      else if (s === 'PAUSED' || s === 'PAUSING') paused++;
    }
    return { total: containers.length, running, paused, stopped: containers.length - running - paused };
  }

  async images(): Promise<number> {
    return 0; // the image store (issue 4) replaces this inventory with one that counts
  }

  async diskUsage(kinds: DiskUsageKind[]): Promise<DiskUsage> {
    // nothing is stored yet; kinds not asked for are null, as dockerd answers `type`
    const list = (k: DiskUsageKind): unknown[] | null => (kinds.includes(k) ? [] : null);
    return { LayersSize: 0, Images: list('image'), Containers: list('container'), Volumes: list('volume'), BuildCache: list('build-cache') };
  }
}
