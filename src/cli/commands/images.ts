/**
 * Image commands: `images`, `pull` (the JSON progress stream: bars on a
 * TTY, one line per step otherwise), `tag`, `rmi`.
 */
import { forEachTarget, help, type CliContext, type CommandSpec } from '../command.js';
import { DEFAULT_IMAGES_TABLE, DIGESTS_IMAGES_TABLE, IMAGE_HEADERS, ImageContext, imageRows, type ImageSummary } from '../format/contexts.js';
import { renderList } from '../format/render.js';
import { filtersJson } from './containers.js';
import { ProgressDisplay, type JsonMessage } from '../progress.js';

/** `name[:tag][@digest]` → the fromImage/tag pair of the API (tag "latest" when absent). */
export function splitReference(ref: string): { name: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { name: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: 'latest' };
}

/** Pulls `ref`, showing the daemon's progress on stderr (run) or stdout (pull). */
export async function pullImage(ctx: CliContext, ref: string, platform: string | undefined, quiet: boolean, toStderr: boolean): Promise<void> {
  const { name, tag } = splitReference(ref);
  const write = toStderr ? ctx.err.bind(ctx) : ctx.out.bind(ctx);
  const display = new ProgressDisplay(quiet ? () => {} : write, (toStderr ? process.stderr : process.stdout).isTTY === true);
  await ctx.client().jsonLines('POST', '/images/create', { query: { fromImage: name, tag, platform } }, (o) => display.show(o as JsonMessage));
}

const images: CommandSpec = {
  names: ['images', 'image ls', 'image list'], usage: 'images [OPTIONS] [REPOSITORY[:TAG]]', summary: 'List images', maxArgs: 1,
  flags: [
    { name: 'all', short: 'a', type: 'bool' }, { name: 'quiet', short: 'q', type: 'bool' }, { name: 'digests', type: 'bool' },
    { name: 'filter', short: 'f', type: 'list' }, { name: 'format', type: 'string' }, { name: 'no-trunc', type: 'bool' }, help(),
  ],
  async run(ctx, o) {
    const filters = [...o.list('filter'), ...(o.args[0] ? [`reference=${o.args[0]}`] : [])];
    const list = await ctx.client().json<ImageSummary[]>('GET', '/images/json', { query: { all: o.bool('all') ? 1 : undefined, filters: filtersJson(filters) } });
    const now = Date.now();
    let rows = imageRows(list, o.bool('all')).map((r) => new ImageContext(r, !o.bool('no-trunc'), now));
    const format = o.str('format');
    if (o.bool('quiet') && (format === '' || format === 'table')) {
      // -q lists each image once
      const seen = new Set<string>();
      rows = rows.filter((r) => { const id = String(r.field('ID', []).value); if (seen.has(id)) return false; seen.add(id); return true; });
    }
    ctx.out(renderList({
      format, defaultTable: o.bool('digests') ? DIGESTS_IMAGES_TABLE : DEFAULT_IMAGES_TABLE,
      quiet: o.bool('quiet') && (format === '' || format === 'table'), headers: IMAGE_HEADERS,
    }, rows));
    return 0;
  },
};

const pull: CommandSpec = {
  names: ['pull', 'image pull'], usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]', summary: 'Download an image from a registry', minArgs: 1, maxArgs: 1,
  flags: [{ name: 'quiet', short: 'q', type: 'bool' }, { name: 'platform', type: 'string' }, { name: 'all-tags', short: 'a', type: 'bool' }, help()],
  async run(ctx, o) {
    const ref = o.args[0]!;
    await pullImage(ctx, ref, o.str('platform') || undefined, o.bool('quiet'), false);
    const { name, tag } = splitReference(ref);
    ctx.out(`${name}${tag.startsWith('sha256:') ? '@' : ':'}${tag}\n`);
    return 0;
  },
};

const tag: CommandSpec = {
  names: ['tag', 'image tag'], usage: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  minArgs: 2, maxArgs: 2, flags: [help()],
  async run(ctx, o) {
    const { name, tag: t } = splitReference(o.args[1]!);
    await ctx.client().call('POST', `/images/${encodeURIComponent(o.args[0]!)}/tag`, { query: { repo: name, tag: t } });
    return 0;
  },
};

const rmi: CommandSpec = {
  names: ['rmi', 'image rm', 'image remove'], usage: 'rmi [OPTIONS] IMAGE [IMAGE...]', summary: 'Remove one or more images', minArgs: 1,
  flags: [{ name: 'force', short: 'f', type: 'bool' }, { name: 'no-prune', type: 'bool' }, help()],
  async run(ctx, o) {
    return forEachTarget(ctx, o.args, async (ref) => {
      const items = await ctx.client().json<{ Untagged?: string; Deleted?: string }[]>('DELETE', `/images/${encodeURIComponent(ref)}`, {
        query: { force: o.bool('force') ? 1 : undefined, noprune: o.bool('no-prune') ? 1 : undefined },
      });
      return items.map((i) => (i.Untagged ? `Untagged: ${i.Untagged}` : `Deleted: ${i.Deleted}`)).join('\n') || undefined;
    });
  },
};

export const imageCommands: CommandSpec[] = [images, pull, tag, rmi];
