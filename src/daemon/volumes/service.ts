/**
 * Volumes of the local driver: the Engine API's create, list, inspect,
 * remove and prune, and the resolver the container half asks for host
 * paths (creating named and anonymous volumes on first use and filling a
 * new, empty one from the image, as Docker does). A volume is in use while
 * a container that still exists in the core references it.
 */
import { randomBytes } from 'node:crypto';
import { failedPrecondition, invalidArgument } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { CoreClient } from '../../core/client.js';
import type {
  Filters, ResolvedVolume, VolumeCreateArgs, VolumeRequest, VolumeResolver, VolumesBackend, VolumeView,
} from '../../api/index.js';
import type { EventBus } from '../events.js';
import type { StateDb } from '../state/db.js';
import {
  checkOptions, copyImageContent, dataDir, dirSize, isEmptyDir, makeDirs, mountVolume, removeDirs, unmountVolume,
} from './local.js';
import { VolumeStore, type VolumeRecord } from './store.js';

/** Docker marks anonymous volumes with this label; prune without all=true removes only those. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export interface VolumeServiceDeps {
  db: StateDb;
  /** <data-root>/volumes */
  root: string;
  core: CoreClient;
  events: EventBus;
  log: Logger;
}

const nowRfc3339 = (): string => new Date().toISOString().replace(/\.[0-9]+Z$/, 'Z');

export class DaemonVolumes implements VolumesBackend, VolumeResolver {
  private readonly store: VolumeStore;

  constructor(private readonly deps: VolumeServiceDeps) {
    this.store = new VolumeStore(deps.db);
  }

  view(v: VolumeRecord, usage?: { Size: number; RefCount: number }): VolumeView {
    return {
      CreatedAt: v.createdAt, Driver: v.driver, Labels: v.labels, Mountpoint: dataDir(this.deps.root, v.name), Name: v.name,
      Options: Object.keys(v.options).length > 0 ? v.options : null, Scope: 'local', ...(usage ? { UsageData: usage } : {}),
    };
  }

  private publish(action: string, name: string, attrs: Record<string, string> = {}): void {
    this.deps.events.publish('volume', action, { ID: name, Attributes: { driver: 'local', ...attrs } });
  }

  /** Containers of the core, so references of containers removed behind our back do not count. */
  private async liveContainers(): Promise<Set<string>> {
    return new Set((await this.deps.core.containers.List({ filters: [] })).containers.map((c) => c.id));
  }

  private ensure(args: VolumeCreateArgs, anonymous: boolean): { record: VolumeRecord; created: boolean } {
    const driver = args.Driver === undefined || args.Driver === '' ? 'local' : args.Driver;
    const name = args.Name === undefined || args.Name === '' ? randomBytes(32).toString('hex') : args.Name;
    if (driver !== 'local') throw invalidArgument(`create ${name}: volume driver ${driver} is not supported (only local)`);
    if (!NAME_RE.test(name)) {
      throw invalidArgument(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    }
    const existing = this.store.find(name);
    if (existing) return { record: existing, created: false };
    const options = { ...(args.DriverOpts ?? {}) };
    checkOptions(name, options);
    const labels = { ...(args.Labels ?? {}), ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
    const record: VolumeRecord = { name, driver, labels, options, anonymous, createdAt: nowRfc3339() };
    makeDirs(this.deps.root, name);
    try {
      this.store.create(record);
    } catch (err) {
      removeDirs(this.deps.root, name);
      throw err;
    }
    this.publish('create', name);
    return { record, created: true };
  }

  async create(args: VolumeCreateArgs): Promise<VolumeView> {
    const anonymous = args.Name === undefined || args.Name === '';
    return this.view(this.ensure(args, anonymous).record);
  }

  async inspect(name: string): Promise<VolumeView> {
    return this.view(this.store.get(name));
  }

  async list(filters: Filters): Promise<{ Volumes: VolumeView[]; Warnings: string[] }> {
    filters.validate(['dangling', 'name', 'label', 'driver']);
    const live = filters.has('dangling') ? await this.liveContainers() : new Set<string>();
    const refs = this.store.allRefs();
    const volumes = this.store.list().filter((v) => {
      if (filters.has('name') && !filters.get('name').some((n) => v.name.includes(n))) return false;
      if (!filters.exact('driver', v.driver)) return false;
      if (!filters.matchLabels('label', v.labels)) return false;
      if (filters.has('dangling')) {
        const dangling = !(refs.get(v.name) ?? []).some((c) => live.has(c));
        const want = filters.get('dangling').some((d) => ['true', '1'].includes(d));
        if (dangling !== want) return false;
      }
      return true;
    });
    return { Volumes: volumes.map((v) => this.view(v)), Warnings: [] };
  }

  private async users(name: string): Promise<string[]> {
    const refs = this.store.refs(name);
    if (refs.length === 0) return [];
    const live = await this.liveContainers();
    return refs.filter((c) => live.has(c));
  }

  async remove(name: string, force: boolean): Promise<void> {
    const v = this.store.find(name);
    if (!v) {
      if (force) return;
      this.store.get(name);
      return;
    }
    const users = await this.users(name);
    if (users.length > 0) throw failedPrecondition(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    removeDirs(this.deps.root, name);
    this.store.delete(name);
    this.publish('destroy', name);
  }

  async prune(filters: Filters): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    filters.validate(['label', 'all']);
    const all = filters.get('all').some((a) => ['true', '1'].includes(a));
    const live = await this.liveContainers();
    const refs = this.store.allRefs();
    const deleted: string[] = [];
    let space = 0;
    for (const v of this.store.list()) {
      if (!all && !v.anonymous && !(ANONYMOUS_LABEL in v.labels)) continue;
      if (!filters.matchLabels('label', v.labels)) continue;
      if ((refs.get(v.name) ?? []).some((c) => live.has(c))) continue;
      space += dirSize(dataDir(this.deps.root, v.name));
      removeDirs(this.deps.root, v.name);
      this.store.delete(v.name);
      this.publish('destroy', v.name);
      deleted.push(v.name);
    }
    this.deps.events.publish('volume', 'prune', { ID: '', Attributes: { reclaimed: String(space) } });
    return { VolumesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: space };
  }

  /** Every volume with its size and live reference count (df). */
  async usage(): Promise<VolumeView[]> {
    const live = await this.liveContainers();
    const refs = this.store.allRefs();
    return this.store.list().map((v) => this.view(v, {
      Size: dirSize(dataDir(this.deps.root, v.name)), RefCount: (refs.get(v.name) ?? []).filter((c) => live.has(c)).length,
    }));
  }

  async resolveVolumes(containerId: string, requests: VolumeRequest[], imageRootfsPath: string | undefined): Promise<ResolvedVolume[]> {
    const out: ResolvedVolume[] = [];
    for (const req of requests) {
      const { record, created } = this.ensure({ Name: req.name, Labels: req.labels, DriverOpts: req.driverOpts }, req.name === '');
      const source = dataDir(this.deps.root, record.name);
      mountVolume(this.deps.root, record.name, record.options);
      this.store.addRef(record.name, containerId);
      if (!req.noCopy && imageRootfsPath !== undefined && (created || isEmptyDir(source))) {
        copyImageContent(`${imageRootfsPath.replace(/\/+$/, '')}/${req.target.replace(/^\/+/, '')}`, source);
      }
      this.publish('mount', record.name, { container: containerId, destination: req.target });
      out.push({ name: record.name, target: req.target, source });
    }
    return out;
  }

  async releaseVolumes(containerId: string, removeAnonymous: boolean): Promise<void> {
    for (const name of this.store.dropRefs(containerId)) {
      const v = this.store.find(name);
      if (!v) continue;
      this.publish('unmount', name, { container: containerId });
      if (this.store.refs(name).length > 0) continue;
      if (removeAnonymous && v.anonymous) {
        removeDirs(this.deps.root, name);
        this.store.delete(name);
        this.publish('destroy', name);
      } else if (v.options.type !== undefined) {
        try { unmountVolume(this.deps.root, name); } catch (err) { this.deps.log.warn('cannot unmount volume', { name, error: (err as Error).message }); }
      }
    }
  }
}

/** The anonymous volumes an image's VOLUME entries ask for, except paths a mount already covers. */
export function imageVolumeRequests(imageVolumes: Record<string, unknown> | null | undefined, covered: string[]): VolumeRequest[] {
  const clean = (p: string): string => `/${p.replace(/^\/+|\/+$/g, '')}`;
  const taken = new Set(covered.map(clean));
  return Object.keys(imageVolumes ?? {}).filter((p) => !taken.has(clean(p))).map((p) => ({ name: '', target: clean(p) }));
}
