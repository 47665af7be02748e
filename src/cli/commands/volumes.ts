/**
 * `volume create|ls|rm|prune` (`volume inspect` is in inspect.ts).
 */
import { compareVersions } from '../client.js';
import { CliError, forEachTarget, help, type CommandSpec } from '../command.js';
import { DEFAULT_VOLUME_TABLE, VOLUME_HEADERS, VolumeContext, type VolumeSummary } from '../format/objects.js';
import { renderList } from '../format/render.js';
import { confirm, pruneReport } from '../prune.js';
import { filtersJson } from './containers.js';

/** `k=v` list → a map (docker's --label and --opt). */
export function keyValues(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    out[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
  }
  return out;
}

const create: CommandSpec = {
  names: ['volume create'], usage: 'volume create [OPTIONS] [VOLUME]', summary: 'Create a volume', maxArgs: 1,
  flags: [{ name: 'driver', short: 'd', type: 'string', def: 'local' }, { name: 'label', type: 'list' }, { name: 'opt', short: 'o', type: 'list' }, { name: 'name', type: 'string' }, help()],
  async run(ctx, o) {
    if (o.args[0] && o.str('name') && o.args[0] !== o.str('name')) throw new CliError(`conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
    const v = await ctx.client().json<VolumeSummary>('POST', '/volumes/create', {
      body: { Name: o.args[0] ?? o.str('name'), Driver: o.str('driver'), DriverOpts: keyValues(o.list('opt')), Labels: keyValues(o.list('label')) },
    });
    ctx.out(`${v.Name}\n`);
    return 0;
  },
};

const ls: CommandSpec = {
  names: ['volume ls', 'volume list'], usage: 'volume ls [OPTIONS]', summary: 'List volumes', maxArgs: 0,
  flags: [{ name: 'quiet', short: 'q', type: 'bool' }, { name: 'format', type: 'string' }, { name: 'filter', short: 'f', type: 'list' }, { name: 'cluster', type: 'bool' }, help()],
  async run(ctx, o) {
    const r = await ctx.client().json<{ Volumes: VolumeSummary[] | null }>('GET', '/volumes', { query: { filters: filtersJson(o.list('filter')) } });
    const vols = [...(r.Volumes ?? [])].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    const format = o.str('format');
    const quiet = o.bool('quiet') && (format === '' || format === 'table');
    ctx.out(renderList({ format: quiet ? '{{.Name}}' : format, defaultTable: DEFAULT_VOLUME_TABLE, headers: VOLUME_HEADERS }, vols.map((v) => new VolumeContext(v))));
    return 0;
  },
};

const rm: CommandSpec = {
  names: ['volume rm', 'volume remove'], usage: 'volume rm [OPTIONS] VOLUME [VOLUME...]', summary: 'Remove one or more volumes', minArgs: 1,
  flags: [{ name: 'force', short: 'f', type: 'bool' }, help()],
  async run(ctx, o) {
    return forEachTarget(ctx, o.args, async (n) => {
      await ctx.client().call('DELETE', `/volumes/${encodeURIComponent(n)}`, { query: { force: o.bool('force') ? 1 : undefined } });
      return n;
    });
  },
};

const prune: CommandSpec = {
  names: ['volume prune'], usage: 'volume prune [OPTIONS]', summary: 'Remove unused local volumes', maxArgs: 0,
  flags: [{ name: 'all', short: 'a', type: 'bool' }, { name: 'filter', type: 'list' }, { name: 'force', short: 'f', type: 'bool' }, help()],
  async run(ctx, o) {
    const version = await ctx.client().apiVersion();
    if (o.bool('all') && compareVersions(version, '1.42') < 0) {
      throw new CliError(`"--all" requires API version 1.42, but the Docker daemon API version is ${version}`);
    }
    const warning = o.bool('all') ? 'WARNING! This will remove all local volumes not used by at least one container.'
      : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
    if (!o.bool('force') && !(await confirm(ctx, warning))) return 0;
    const filters = [...o.list('filter'), ...(o.bool('all') ? ['all=true'] : [])];
    const r = await ctx.client().json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', { query: { filters: filtersJson(filters) } });
    ctx.out(pruneReport('Volumes', r.VolumesDeleted ?? [], r.SpaceReclaimed));
    return 0;
  },
};

export const volumeCommands: CommandSpec[] = [create, ls, rm, prune];
