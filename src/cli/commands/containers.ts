/**
 * Container commands that need no stream: ps, the lifecycle verbs (stop,
 * start, restart, kill, rm, pause, unpause, wait, rename) and top.
 */
import { Opts } from '../args.js';
import { CliError, forEachTarget, help, type CommandSpec } from '../command.js';
import { CONTAINER_HEADERS, ContainerContext, DEFAULT_PS_TABLE, type ContainerSummary } from '../format/contexts.js';
import { renderList } from '../format/render.js';
import { tabwrite } from '../format/tabwriter.js';

/** `--filter k=v` list → the API's `filters` JSON (map of lists). */
export function filtersJson(list: string[]): string | undefined {
  if (list.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const f of list) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new CliError(`bad format of filter (expected name=value)`);
    (out[f.slice(0, eq).trim().toLowerCase()] ??= []).push(f.slice(eq + 1));
  }
  return JSON.stringify(out);
}

const ps: CommandSpec = {
  names: ['ps', 'container ls', 'container list', 'container ps'],
  usage: 'ps [OPTIONS]', summary: 'List containers', maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', type: 'bool' }, { name: 'quiet', short: 'q', type: 'bool' },
    { name: 'last', short: 'n', type: 'int', def: -1 }, { name: 'latest', short: 'l', type: 'bool' },
    { name: 'size', short: 's', type: 'bool' }, { name: 'filter', short: 'f', type: 'list' },
    { name: 'format', type: 'string' }, { name: 'no-trunc', type: 'bool' }, help(),
  ],
  async run(ctx, o) {
    const format = o.str('format');
    const limit = o.bool('latest') ? 1 : o.int('last');
    // docker asks for sizes when the template shows them
    const size = o.bool('size') || format.includes('.Size') || format === 'json' || /json \.\s*}}/.test(format);
    const list = await ctx.client().json<ContainerSummary[]>('GET', '/containers/json', {
      query: { all: o.bool('all') || limit > 0 ? 1 : undefined, limit: limit > 0 ? limit : undefined, size: size ? 1 : undefined, filters: filtersJson(o.list('filter')) },
    });
    const now = Date.now();
    const rows = list.map((c) => new ContainerContext(c, !o.bool('no-trunc'), now));
    const defaultTable = o.bool('size') ? `${DEFAULT_PS_TABLE}\t{{.Size}}` : DEFAULT_PS_TABLE;
    ctx.out(renderList({ format, defaultTable, quiet: o.bool('quiet') && (format === '' || format === 'table'), headers: CONTAINER_HEADERS }, rows));
    return 0;
  },
};

/** A verb applied to each named container, printing the name as given (stop, kill, pause …). */
function verb(names: string[], summary: string, path: (t: string, o: Opts) => [string, string, Record<string, string | number | undefined>?], flags: CommandSpec['flags'] = []): CommandSpec {
  return {
    names, usage: `${names[0]} [OPTIONS] CONTAINER [CONTAINER...]`, summary, minArgs: 1, flags: [...flags, help()],
    async run(ctx, o) {
      return forEachTarget(ctx, o.args, async (t) => {
        const [method, p, query] = path(t, o);
        await ctx.client().call(method, p, { query });
        return t;
      });
    },
  };
}

const id = (t: string): string => encodeURIComponent(t);
const timeFlags: CommandSpec['flags'] = [{ name: 'time', short: 't', type: 'int' }, { name: 'timeout', type: 'int' }, { name: 'signal', short: 's', type: 'string' }];
const timeout = (o: Opts): number | undefined => (o.has('time') ? o.int('time') : o.has('timeout') ? o.int('timeout') : undefined);

const stop = verb(['stop', 'container stop'], 'Stop one or more running containers',
  (t, o) => ['POST', `/containers/${id(t)}/stop`, { t: timeout(o), signal: o.str('signal') || undefined }], timeFlags);
const restart = verb(['restart', 'container restart'], 'Restart one or more containers',
  (t, o) => ['POST', `/containers/${id(t)}/restart`, { t: timeout(o), signal: o.str('signal') || undefined }], timeFlags);
const kill = verb(['kill', 'container kill'], 'Kill one or more running containers',
  (t, o) => ['POST', `/containers/${id(t)}/kill`, { signal: o.str('signal') || undefined }], [{ name: 'signal', short: 's', type: 'string' }]);
const pause = verb(['pause', 'container pause'], 'Pause all processes within one or more containers', (t) => ['POST', `/containers/${id(t)}/pause`]);
const unpause = verb(['unpause', 'container unpause'], 'Unpause all processes within one or more containers', (t) => ['POST', `/containers/${id(t)}/unpause`]);
const rm = verb(['rm', 'container rm', 'container remove'], 'Remove one or more containers',
  (t, o) => ['DELETE', `/containers/${id(t)}`, { force: o.bool('force') ? 1 : undefined, v: o.bool('volumes') ? 1 : undefined, link: o.bool('link') ? 1 : undefined }],
  [{ name: 'force', short: 'f', type: 'bool' }, { name: 'volumes', short: 'v', type: 'bool' }, { name: 'link', short: 'l', type: 'bool' }]);

const wait: CommandSpec = {
  names: ['wait', 'container wait'], usage: 'wait CONTAINER [CONTAINER...]', summary: 'Block until one or more containers stop, then print their exit codes',
  minArgs: 1, flags: [help()],
  async run(ctx, o) {
    return forEachTarget(ctx, o.args, async (t) => {
      const r = await ctx.client().json<{ StatusCode: number; Error?: { Message?: string } | null }>('POST', `/containers/${id(t)}/wait`);
      if (r.Error?.Message) throw new CliError(r.Error.Message);
      return String(r.StatusCode);
    });
  },
};

const rename: CommandSpec = {
  names: ['rename', 'container rename'], usage: 'rename CONTAINER NEW_NAME', summary: 'Rename a container', minArgs: 2, maxArgs: 2, flags: [help()],
  async run(ctx, o) {
    const [oldName, newName] = o.args;
    if (!newName!.trim()) throw new CliError('Error: Neither old nor new names may be empty');
    await ctx.client().call('POST', `/containers/${id(oldName!)}/rename`, { query: { name: newName } });
    return 0;
  },
};

const top: CommandSpec = {
  names: ['top', 'container top'], usage: 'top CONTAINER [ps OPTIONS]', summary: 'Display the running processes of a container',
  minArgs: 1, interspersed: false, flags: [help()],
  async run(ctx, o) {
    const [name, ...psArgs] = o.args;
    const r = await ctx.client().json<{ Titles: string[]; Processes: string[][] }>('GET', `/containers/${id(name!)}/top`, { query: { ps_args: psArgs.join(' ') || undefined } });
    const text = [r.Titles.join('\t'), ...r.Processes.map((p) => p.join('\t'))].join('\n') + '\n';
    ctx.out(tabwrite(text, { minWidth: 20, padding: 3 }));
    return 0;
  },
};

const start: CommandSpec = {
  names: ['start', 'container start'], usage: 'start [OPTIONS] CONTAINER [CONTAINER...]', summary: 'Start one or more stopped containers', minArgs: 1,
  flags: [{ name: 'attach', short: 'a', type: 'bool' }, { name: 'interactive', short: 'i', type: 'bool' }, { name: 'detach-keys', type: 'string' }, help()],
  async run(ctx, o) {
    if (o.bool('attach') || o.bool('interactive')) {
      if (o.args.length > 1) throw new CliError('you cannot start and attach multiple containers at once');
      const { attachAndStart } = await import('./run.js');
      return attachAndStart(ctx, o.args[0]!, o.bool('interactive'));
    }
    return forEachTarget(ctx, o.args, async (t) => {
      await ctx.client().call('POST', `/containers/${id(t)}/start`);
      return t;
    });
  },
};

export const containerCommands: CommandSpec[] = [ps, stop, start, restart, kill, rm, pause, unpause, wait, rename, top];
