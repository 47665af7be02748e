/**
 * Disk usage and cleanup: `system df [-v]`, `system prune`, `container
 * prune`, `image prune`, with docker's warnings, reports and arithmetic
 * (reclaimable space and its integer percentage).
 */
import type { Opts } from '../args.js';
import { DaemonError } from '../client.js';
import { help, type CliContext, type CommandSpec } from '../command.js';
import { CONTAINER_HEADERS, Context, ContainerContext, IMAGE_HEADERS, ImageContext, imageRows, type ContainerSummary, type Getter, type ImageSummary } from '../format/contexts.js';
import { VOLUME_HEADERS, VolumeContext, type VolumeSummary } from '../format/objects.js';
import { renderList } from '../format/render.js';
import { humanSize4 } from '../format/units.js';
import { confirm, pruneReport } from '../prune.js';
import { filtersJson } from './containers.js';

export interface DiskUsage {
  LayersSize?: number; Images?: ImageSummary[] | null; Containers?: ContainerSummary[] | null; Volumes?: VolumeSummary[] | null;
  BuildCache?: { Size: number; InUse: boolean; Shared: boolean }[] | null;
}

/** "<size> (<pct>%)" as docker's df prints reclaimable space (the percentage only over a non-zero total). */
function withPercent(reclaimable: number, total: number): string {
  return total > 0 ? `${humanSize4(reclaimable)} (${Math.floor((reclaimable * 100) / total)}%)` : humanSize4(reclaimable);
}

export interface DfRow { Type: string; TotalCount: string; Active: string; Size: string; Reclaimable: string }

/** The four summary rows of `system df`. */
export function dfRows(du: DiskUsage): DfRow[] {
  const images = du.Images ?? [];
  const layers = du.LayersSize ?? 0;
  const used = images.filter((i) => (i.Containers ?? 0) !== 0 && i.Size !== -1 && i.SharedSize !== -1)
    .reduce((s, i) => s + i.Size - (i.SharedSize ?? 0), 0);
  const containers = du.Containers ?? [];
  const isActive = (c: ContainerSummary): boolean => c.State === 'running' || c.State === 'paused';
  const cSize = containers.reduce((s, c) => s + (c.SizeRw ?? 0), 0);
  const cFree = containers.filter((c) => !isActive(c)).reduce((s, c) => s + (c.SizeRw ?? 0), 0);
  const volumes = du.Volumes ?? [];
  const vSize = volumes.reduce((s, v) => s + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const vFree = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((s, v) => s + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const cache = du.BuildCache ?? [];
  return [
    { Type: 'Images', TotalCount: String(images.length), Active: String(images.filter((i) => (i.Containers ?? 0) > 0).length), Size: humanSize4(layers), Reclaimable: withPercent(layers - used, layers) },
    { Type: 'Containers', TotalCount: String(containers.length), Active: String(containers.filter(isActive).length), Size: humanSize4(cSize), Reclaimable: withPercent(cFree, cSize) },
    { Type: 'Local Volumes', TotalCount: String(volumes.length), Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize4(vSize), Reclaimable: withPercent(vFree, vSize) },
    { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((b) => b.InUse).length), Size: humanSize4(cache.reduce((s, b) => s + b.Size, 0)),
      Reclaimable: humanSize4(cache.filter((b) => !b.InUse && !b.Shared).reduce((s, b) => s + b.Size, 0)) },
  ];
}

class DfContext extends Context {
  readonly goTypeName = '*formatter.diskUsageContext';
  constructor(private readonly r: DfRow) { super(); }
  protected getters(): Record<string, Getter> {
    const r = this.r;
    return { Type: () => r.Type, TotalCount: () => r.TotalCount, Active: () => r.Active, Size: () => r.Size, Reclaimable: () => r.Reclaimable };
  }
}

/** A container row of `df -v`: the writable layer's size alone. */
class DfContainerContext extends ContainerContext {
  protected override getters(): Record<string, Getter> {
    return { ...super.getters(), Size: () => humanSize4(this.c.SizeRw ?? 0) };
  }
}

const DF_HEADERS = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

const df: CommandSpec = {
  names: ['system df'], usage: 'system df [OPTIONS]', summary: 'Show docker disk usage', maxArgs: 0,
  flags: [{ name: 'verbose', short: 'v', type: 'bool' }, { name: 'format', type: 'string' }, help()],
  async run(ctx, o) {
    const du = await ctx.client().json<DiskUsage>('GET', '/system/df');
    if (!o.bool('verbose')) {
      ctx.out(renderList({ format: o.str('format'), defaultTable: 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}', headers: DF_HEADERS },
        dfRows(du).map((r) => new DfContext(r))));
      return 0;
    }
    const now = Date.now();
    let out = 'Images space usage:\n\n';
    out += renderList({ format: '', defaultTable: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}', headers: IMAGE_HEADERS },
      imageRows(du.Images ?? [], true).map((r) => new ImageContext(r, true, now)));
    out += '\nContainers space usage:\n\n';
    out += renderList({ format: '', defaultTable: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}', headers: CONTAINER_HEADERS },
      (du.Containers ?? []).map((c) => new DfContainerContext(c, true, now)));
    out += '\nLocal Volumes space usage:\n\n';
    out += renderList({ format: '', defaultTable: 'table {{.Name}}\t{{.Links}}\t{{.Size}}', headers: VOLUME_HEADERS },
      (du.Volumes ?? []).map((v) => new VolumeContext({ ...v, UsageData: v.UsageData ? { ...v.UsageData } : null })).map((c) => sizeAsHuman(c)));
    const cacheSize = (du.BuildCache ?? []).reduce((s, b) => s + b.Size, 0);
    out += `\nBuild cache usage: ${humanSize4(cacheSize)}\n\n`;
    out += 'CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n';
    ctx.out(out);
    return 0;
  },
};

/** df -v shows a volume's size in human units where `volume ls` shows bytes. */
function sizeAsHuman(c: VolumeContext): Context {
  return new (class extends Context {
    readonly goTypeName = c.goTypeName;
    protected getters(): Record<string, Getter> {
      return {
        Name: () => c.field('Name', []).value, Links: () => c.field('Links', []).value,
        Size: () => { const s = c.field('Size', []).value; return s === 'N/A' ? 'N/A' : humanSize4(Number(s)); },
      };
    }
  })();
}

interface PruneOutcome { text: string; reclaimed: number }

async function pruneContainers(ctx: CliContext, filters: string[]): Promise<PruneOutcome> {
  const r = await ctx.client().json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/containers/prune', { query: { filters: filtersJson(filters) } });
  return { text: pruneReport('Containers', r.ContainersDeleted ?? [], undefined), reclaimed: r.SpaceReclaimed ?? 0 };
}

async function pruneImages(ctx: CliContext, filters: string[], all: boolean): Promise<PruneOutcome> {
  const f = [...filters, `dangling=${all ? 'false' : 'true'}`];
  const r = await ctx.client().json<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }>('POST', '/images/prune', { query: { filters: filtersJson(f) } });
  const items = (r.ImagesDeleted ?? []).map((i) => (i.Untagged ? `untagged: ${i.Untagged}` : `deleted: ${i.Deleted}`));
  return { text: pruneReport('Images', items, undefined), reclaimed: r.SpaceReclaimed ?? 0 };
}

async function pruneVolumes(ctx: CliContext, filters: string[]): Promise<PruneOutcome> {
  const r = await ctx.client().json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', { query: { filters: filtersJson(filters) } });
  return { text: pruneReport('Volumes', r.VolumesDeleted ?? [], undefined), reclaimed: r.SpaceReclaimed ?? 0 };
}

async function pruneNetworks(ctx: CliContext, filters: string[]): Promise<PruneOutcome> {
  const r = await ctx.client().json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: filtersJson(filters) } });
  return { text: pruneReport('Networks', r.NetworksDeleted ?? [], undefined), reclaimed: 0 };
}

/** The build cache, when the daemon has one (berthd has no builder: nothing to prune). */
async function pruneBuildCache(ctx: CliContext, all: boolean): Promise<PruneOutcome> {
  try {
    const r = await ctx.client().json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/build/prune', { query: { all: all ? 1 : undefined } });
    return { text: pruneReport('build cache objects', r.CachesDeleted ?? [], undefined), reclaimed: r.SpaceReclaimed ?? 0 };
  } catch (e) {
    if (e instanceof DaemonError && (e.status === 404 || e.status === 501)) return { text: '', reclaimed: 0 };
    throw e;
  }
}

const pruneFlags = [{ name: 'filter', type: 'list' as const }, { name: 'force', short: 'f', type: 'bool' as const }, help()];

async function single(ctx: CliContext, o: Opts, warning: string, prune: () => Promise<PruneOutcome>): Promise<number> {
  if (!o.bool('force') && !(await confirm(ctx, warning))) return 0;
  const r = await prune();
  ctx.out(`${r.text}Total reclaimed space: ${humanSize4(r.reclaimed)}\n`);
  return 0;
}

const containerPrune: CommandSpec = {
  names: ['container prune'], usage: 'container prune [OPTIONS]', summary: 'Remove all stopped containers', maxArgs: 0, flags: pruneFlags,
  run: (ctx, o) => single(ctx, o, 'WARNING! This will remove all stopped containers.', () => pruneContainers(ctx, o.list('filter'))),
};

const imagePrune: CommandSpec = {
  names: ['image prune'], usage: 'image prune [OPTIONS]', summary: 'Remove unused images', maxArgs: 0,
  flags: [{ name: 'all', short: 'a', type: 'bool' }, ...pruneFlags],
  run: (ctx, o) => single(ctx, o, o.bool('all') ? 'WARNING! This will remove all images without at least one container associated to them.' : 'WARNING! This will remove all dangling images.',
    () => pruneImages(ctx, o.list('filter'), o.bool('all'))),
};

const systemPrune: CommandSpec = {
  names: ['system prune'], usage: 'system prune [OPTIONS]', summary: 'Remove unused data', maxArgs: 0,
  flags: [{ name: 'all', short: 'a', type: 'bool' }, { name: 'volumes', type: 'bool' }, ...pruneFlags],
  async run(ctx, o) {
    const all = o.bool('all');
    const items = ['all stopped containers', 'all networks not used by at least one container',
      ...(o.bool('volumes') ? ['all anonymous volumes not used by at least one container'] : []),
      all ? 'all images without at least one container associated to them' : 'all dangling images',
      all ? 'all build cache' : 'unused build cache'];
    if (!o.bool('force') && !(await confirm(ctx, `WARNING! This will remove:\n${items.map((i) => `  - ${i}\n`).join('')}`))) return 0;
    const filters = o.list('filter');
    const steps = [() => pruneContainers(ctx, filters), ...(o.bool('volumes') ? [() => pruneVolumes(ctx, filters)] : []),
      () => pruneNetworks(ctx, filters), () => pruneImages(ctx, filters, all), () => pruneBuildCache(ctx, all)];
    let reclaimed = 0;
    for (const step of steps) {
      const r = await step();
      ctx.out(r.text);
      reclaimed += r.reclaimed;
    }
    ctx.out(`Total reclaimed space: ${humanSize4(reclaimed)}\n`);
    return 0;
  },
};

export const maintenanceCommands: CommandSpec[] = [df, containerPrune, imagePrune, systemPrune];
