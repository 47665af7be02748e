/**
 * Image and container archives: `save` (docker-archive tar of images),
 * `load` (a tar into the daemon, its progress shown), `import` (a rootfs
 * tar, from a file, a URL or stdin, with --change/--message) and `export`
 * (a container's filesystem as a tar). Binary output refuses a terminal,
 * as docker's does.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { streamPromises } from '../builtins.js';
import { CliError, help, type CliContext, type CommandSpec } from '../command.js';
import { ProgressDisplay, type JsonMessage } from '../progress.js';
import { splitReference } from './images.js';

/** Streams a response body to `file`, or to stdout (never a terminal). */
export async function saveBody(res: IncomingMessage, file: string, refusal: string): Promise<void> {
  if (file) { await streamPromises().pipeline(res, createWriteStream(file)); return; }
  if (process.stdout.isTTY) { res.destroy(); throw new CliError(refusal); }
  await streamPromises().pipeline(res, process.stdout, { end: false });
}

/** A JSON message stream (load, import) shown as docker shows it. */
async function showStream(ctx: CliContext, res: IncomingMessage, quiet = false): Promise<void> {
  const display = new ProgressDisplay(quiet ? () => {} : ctx.out.bind(ctx), process.stdout.isTTY === true);
  let rest = '';
  res.setEncoding('utf8');
  for await (const chunk of res) {
    rest += chunk as string;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line) display.show(JSON.parse(line) as JsonMessage);
    }
  }
  if (rest.trim()) display.show(JSON.parse(rest) as JsonMessage);
}

const save: CommandSpec = {
  names: ['save', 'image save'], usage: 'save [OPTIONS] IMAGE [IMAGE...]', summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  minArgs: 1, flags: [{ name: 'output', short: 'o', type: 'string' }, { name: 'platform', type: 'string' }, help()],
  async run(ctx, o) {
    const file = o.str('output');
    if (!file && process.stdout.isTTY) throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const names = o.args.map((n) => `names=${encodeURIComponent(n)}`).join('&');
    const res = await ctx.client().open('GET', `/images/get?${names}`, { query: {} });
    await saveBody(res, file, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    return 0;
  },
};

const load: CommandSpec = {
  names: ['load', 'image load'], usage: 'load [OPTIONS]', summary: 'Load an image from a tar archive or STDIN', maxArgs: 0,
  flags: [{ name: 'input', short: 'i', type: 'string' }, { name: 'quiet', short: 'q', type: 'bool' }, { name: 'platform', type: 'string' }, help()],
  async run(ctx, o) {
    const input = o.str('input');
    if (!input && process.stdin.isTTY) throw new CliError('requested load from stdin, but stdin is empty');
    // progress bars only make sense on a terminal: elsewhere docker asks for the quiet stream
    const quiet = o.bool('quiet') || !process.stdout.isTTY;
    const body = input ? createReadStream(input) : process.stdin;
    if (input) await new Promise<void>((resolve, reject) => { body.once('open', () => resolve()); body.once('error', reject); }).catch((e: NodeJS.ErrnoException) => {
      throw new CliError(`open ${input}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
    });
    const res = await ctx.client().open('POST', '/images/load', { query: { quiet: quiet ? 1 : undefined }, raw: body, headers: { 'Content-Type': 'application/x-tar' } });
    await showStream(ctx, res);
    return 0;
  },
};

const importCmd: CommandSpec = {
  names: ['import', 'image import'], usage: 'import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]', summary: 'Import the contents from a tarball to create a filesystem image',
  minArgs: 1, maxArgs: 2,
  flags: [{ name: 'change', short: 'c', type: 'list' }, { name: 'message', short: 'm', type: 'string' }, { name: 'platform', type: 'string' }, help()],
  async run(ctx, o) {
    const [source, ref] = o.args as [string, string | undefined];
    const fromUrl = /^https?:\/\//.test(source);
    const fromSrc = source === '-' || !fromUrl ? '-' : source;
    const { name, tag } = ref ? splitReference(ref) : { name: undefined, tag: undefined };
    const changes = o.list('change').map((c) => `&changes=${encodeURIComponent(c)}`).join('');
    const query = { fromSrc, repo: name, tag: ref ? tag : undefined, message: o.str('message') || undefined, platform: o.str('platform') || undefined };
    const raw = source === '-' ? process.stdin : fromUrl ? undefined : createReadStream(source);
    if (raw && source !== '-') await new Promise<void>((resolve, reject) => { raw.once('open', () => resolve()); raw.once('error', reject); }).catch((e: NodeJS.ErrnoException) => {
      throw new CliError(`open ${source}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
    });
    const qs = Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
    const res = await ctx.client().open('POST', `/images/create?${qs}${changes}`, raw ? { raw, headers: { 'Content-Type': 'application/x-tar' } } : {});
    await showStream(ctx, res);
    return 0;
  },
};

const exportCmd: CommandSpec = {
  names: ['export', 'container export'], usage: 'export [OPTIONS] CONTAINER', summary: "Export a container's filesystem as a tar archive",
  minArgs: 1, maxArgs: 1, flags: [{ name: 'output', short: 'o', type: 'string' }, help()],
  async run(ctx, o) {
    const file = o.str('output');
    const refusal = 'cowardly refusing to save to a terminal. Use the -o flag or redirect';
    if (!file && process.stdout.isTTY) throw new CliError(refusal);
    const res = await ctx.client().open('GET', `/containers/${encodeURIComponent(o.args[0]!)}/export`);
    await saveBody(res, file, refusal);
    return 0;
  },
};

const commit: CommandSpec = {
  names: ['commit', 'container commit'], usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]', summary: "Create a new image from a container's changes",
  minArgs: 1, maxArgs: 2,
  flags: [
    { name: 'author', short: 'a', type: 'string' }, { name: 'change', short: 'c', type: 'list' }, { name: 'message', short: 'm', type: 'string' },
    { name: 'pause', short: 'p', type: 'bool', def: true }, help(),
  ],
  async run(ctx, o) {
    const [container, ref] = o.args as [string, string | undefined];
    const { name, tag } = ref ? splitReference(ref) : { name: undefined, tag: undefined };
    const query = { container, repo: name, tag: ref ? tag : undefined, comment: o.str('message') || undefined, author: o.str('author') || undefined, pause: o.bool('pause') ? 1 : 0 };
    // each change line is its own `changes` parameter, as the docker CLI sends them
    const qs = Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
    const changes = o.list('change').map((c) => `&changes=${encodeURIComponent(c)}`).join('');
    const r = await ctx.client().json<{ Id: string }>('POST', `/commit?${qs}${changes}`);
    ctx.out(`${r.Id}\n`);
    return 0;
  },
};

export const archiveCommands: CommandSpec[] = [save, load, importCmd, exportCmd, commit];
