/**
 * What the daemon holds, counted for /info and measured for /system/df:
 * containers by their core task's state, images from the image view,
 * volumes with their size and users. The container half may add its df
 * rows (`containerUsage`).
 */
import type { DiskUsage, DiskUsageKind } from '../api/index.js';
import type { CoreClient } from '../core/client.js';
import { containersUsing, layerUse, layersSize, sharedSize, tagsOf, type DaemonImages } from './images/index.js';
import type { DaemonVolumes } from './volumes/index.js';

export interface ContainerCounts { total: number; running: number; paused: number; stopped: number }

export interface Inventory {
  containers(): Promise<ContainerCounts>;
  images(): Promise<number>;
  diskUsage(kinds: DiskUsageKind[]): Promise<DiskUsage>;
}

export interface InventorySources {
  images?: DaemonImages;
  volumes?: DaemonVolumes;
  /** /system/df's Containers rows (Docker's container summary with SizeRw, SizeRootFs) */
  containerUsage?: () => Promise<unknown[]>;
}

/** The engine's namespace in the core, and the daemon's image and volume views. */
export class CoreInventory implements Inventory {
  constructor(private readonly core: CoreClient, private readonly sources: InventorySources = {}) {}

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
    if (!this.sources.images) return 0;
    return (await this.sources.images.usage()).views.length;
  }

  private async imageRows(): Promise<{ rows: unknown[]; layersSize: number }> {
    if (!this.sources.images) return { rows: [], layersSize: 0 };
    const { views, containers } = await this.sources.images.usage();
    const use = layerUse(views);
    const rows = views.map((v) => {
      return {
        Id: v.id, ParentId: '', RepoTags: tagsOf(v), RepoDigests: v.doc.RepoDigests ?? [], Created: Math.floor(Date.parse(v.doc.Created) / 1000),
        Size: v.doc.Size, SharedSize: sharedSize(v, use), VirtualSize: v.doc.Size, Labels: v.doc.Config.Labels ?? {},
        Containers: containersUsing(v, containers).length,
      };
    });
    return { rows, layersSize: layersSize(use) };
  }

  async diskUsage(kinds: DiskUsageKind[]): Promise<DiskUsage> {
    // kinds not asked for are null, as dockerd answers `type`
    const want = (k: DiskUsageKind): boolean => kinds.includes(k);
    const images = want('image') ? await this.imageRows() : undefined;
    return {
      LayersSize: images?.layersSize ?? 0,
      Images: images?.rows ?? null,
      Containers: want('container') ? (await this.sources.containerUsage?.()) ?? [] : null,
      Volumes: want('volume') ? (await this.sources.volumes?.usage()) ?? [] : null,
      BuildCache: want('build-cache') ? [] : null,
    };
  }
}
