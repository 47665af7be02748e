/** `berth-ctr images pull|push|ls|inspect|history|tag|rm|prune|save|load|import` */
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { PullProgress, PushProgress } from '../../core/api/types.js';
import type { CoreClient } from '../../core/client.js';
import { labelText, table } from '../output.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `user:pass` → the request's credential fields. */
function credentials(user: string | undefined): { username: string; password: string } {
  if (user === undefined) return { username: '', password: '' };
  const at = user.indexOf(':');
  return at < 0 ? { username: user, password: '' } : { username: user.slice(0, at), password: user.slice(at + 1) };
}

export const humanSize = (n: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
};

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

/**
 * Per-blob progress: on a terminal one line per blob rewritten in place;
 * elsewhere one line per change of status (no byte counts).
 */
export class ProgressView {
  private readonly rows = new Map<string, string>();
  private readonly order: string[] = [];
  private drawn = 0;
  constructor(private readonly out: (s: string) => void, private readonly tty: boolean) {}

  update(p: PullProgress | PushProgress): void {
    const key = p.digest === '' ? '' : p.digest;
    const total = Number(p.total);
    const current = Number(p.current);
    const bytes = total > 0 && p.status !== 'waiting' ? ` ${humanSize(current)}/${humanSize(total)}` : '';
    const line = `${key === '' ? 'image' : short(key)}: ${p.status}${this.tty ? bytes : ''}`;
    if (!this.rows.has(key)) this.order.push(key);
    const before = this.rows.get(key);
    this.rows.set(key, line);
    if (!this.tty) {
      if (before?.split(': ')[1] !== p.status) this.out(line + '\n');
      return;
    }
    this.redraw();
  }

  private redraw(): void {
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const k of this.order) s += `\x1b[2K${this.rows.get(k)}\n`;
    this.drawn = this.order.length;
    this.out(s);
  }
}

export function imagesCommand(program: Command, client: () => CoreClient, out: (s: string) => void): void {
  const im = program.command('images').alias('image').alias('i').description('manage images');
  im.command('pull <ref>').description('pull an image from a registry and unpack it')
    .option('--platform <os/arch[/variant]>', 'platform to pull (default linux/amd64)')
    .option('--user <user:pass>', 'registry credentials (default: ~/.docker/config.json)')
    .option('--snapshotter <name>', 'snapshotter to unpack into (default: the core\'s)')
    .option('--no-unpack', 'fetch the content only')
    .action(async (ref: string, opts: { platform?: string; user?: string; snapshotter?: string; unpack: boolean }) => {
      const view = new ProgressView(out, process.stdout.isTTY === true);
      const image = await client().pull({
        ref, platform: opts.platform ?? '', snapshotter: opts.snapshotter ?? '', unpack: opts.unpack, ...credentials(opts.user),
      }, (p) => { if (p.status !== 'stored') view.update(p); });
      out(`${image.name} ${image.target?.digest ?? ''}\n`);
    });
  im.command('push <name> [ref]').description('push a local image (to ref, default its own name)')
    .option('--user <user:pass>', 'registry credentials (default: ~/.docker/config.json)')
    .action(async (name: string, ref: string | undefined, opts: { user?: string }) => {
      const view = new ProgressView(out, process.stdout.isTTY === true);
      await client().push({ name, ref: ref ?? '', ...credentials(opts.user) }, (p) => view.update(p));
    });
  im.command('ls').alias('list').description('list images')
    .option('-q, --quiet', 'names only')
    .option('--filter <f>', 'filter (repeatable), e.g. name==docker.io/library/busybox:latest', collect, [])
    .action(async (opts: { quiet?: boolean; filter: string[] }) => {
      const { images } = await client().images.List({ filters: opts.filter });
      if (opts.quiet) { out(images.map((i) => i.name + '\n').join('')); return; }
      out(table([['REF', 'TYPE', 'DIGEST', 'LABELS'],
        ...images.map((i) => [i.name, i.target?.mediaType ?? '', i.target?.digest ?? '', labelText(i.labels) || '-'])]));
    });
  im.command('inspect <refs...>').description('show images as docker image inspect does (JSON)')
    .action(async (refs: string[]) => {
      const all: unknown[] = [];
      for (const ref of refs) all.push(JSON.parse((await client().images.Inspect({ ref })).json.toString('utf8')));
      out(JSON.stringify(all, null, 4) + '\n');
    });
  im.command('history <ref>').description('show an image\'s history')
    .action(async (ref: string) => {
      const rows = JSON.parse((await client().images.History({ ref })).json.toString('utf8')) as { Id: string; Created: number; CreatedBy: string; Size: number; Comment: string }[];
      out(table([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
        ...rows.map((r) => [r.Id === '<missing>' ? r.Id : short(r.Id), r.Created ? new Date(r.Created * 1000).toISOString() : '', r.CreatedBy.slice(0, 60), humanSize(r.Size), r.Comment])]));
    });
  im.command('tag <source> <target>').description('name an image anew')
    .action(async (source: string, target: string) => {
      const { image } = await client().images.Tag({ source, target });
      out(`${image?.name ?? target}\n`);
    });
  im.command('rm <refs...>').alias('remove').description('untag images, deleting an image with its last name')
    .option('-f, --force', 'also when a container uses it, or when an ID names several repositories')
    .action(async (refs: string[], opts: { force?: boolean }) => {
      for (const ref of refs) {
        const r = await client().images.Remove({ ref, force: opts.force ?? false });
        for (const u of r.untagged) out(`Untagged: ${u}\n`);
        for (const d of r.deleted) out(`Deleted: ${d}\n`);
      }
    });
  im.command('save <names...>').description('write images to a tar (docker-archive and OCI layout), to stdout without -o')
    .option('-o, --output <file>', 'the tar file to write')
    .option('--platform <os/arch[/variant]>', 'platform chosen from an index (default linux/amd64)')
    .action(async (names: string[], opts: { output?: string; platform?: string }) => {
      await writeOut(client().save({ names, platform: opts.platform ?? '' }), opts.output, 'save');
    });
  im.command('load').description('load images from a docker-archive or OCI-layout tar (plain or compressed), stdin without -i')
    .option('-i, --input <file>', 'the tar file to read')
    .option('--snapshotter <name>', 'snapshotter to unpack into (default: the core\'s)')
    .option('--platform <os/arch[/variant]>', 'platform chosen from an index (default linux/amd64)')
    .option('--no-unpack', 'store the content only')
    .action(async (opts: { input?: string; snapshotter?: string; platform?: string; unpack: boolean }) => {
      const images = await client().load(inputOf(opts.input), { snapshotter: opts.snapshotter ?? '', platform: opts.platform ?? '', contentOnly: !opts.unpack });
      for (const i of images) out(i.name.startsWith('sha256:') ? `Loaded image ID: ${i.name}\n` : `Loaded image: ${i.name}\n`);
    });
  im.command('import <file> [name]').description('import a root filesystem tar (plain or gzip; - for stdin) as a one-layer image')
    .option('-c, --change <instruction>', 'Dockerfile instruction (CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE, USER, LABEL, VOLUME, STOPSIGNAL), repeatable', collect, [])
    .option('-m, --message <text>', 'commit message for the history')
    .option('--snapshotter <name>', 'snapshotter to unpack into (default: the core\'s)')
    .option('--no-unpack', 'store the content only')
    .action(async (file: string, name: string | undefined, opts: { change: string[]; message?: string; snapshotter?: string; unpack: boolean }) => {
      const image = await client().importImage(inputOf(file === '-' ? undefined : file), {
        name: name ?? '', changes: opts.change, message: opts.message ?? '', snapshotter: opts.snapshotter ?? '', contentOnly: !opts.unpack,
      });
      out(`${image.name} ${image.target?.digest ?? ''}\n`);
    });
  im.command('prune').description('remove images without a tag (with --all: every image no container uses)')
    .option('-a, --all', 'every unused image')
    .action(async (opts: { all?: boolean }) => {
      const { deleted } = await client().images.Prune({ all: opts.all ?? false });
      for (const d of deleted) out(`Deleted: ${d}\n`);
    });
}

/** A file, or stdin. */
export function inputOf(file: string | undefined): AsyncIterable<Buffer> {
  return (file === undefined ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 })) as AsyncIterable<Buffer>;
}

/** Writes a byte stream to a file (removed again when the stream fails) or to stdout. */
export async function writeOut(source: Readable, file: string | undefined, what: string): Promise<void> {
  if (file === undefined) {
    if (process.stdout.isTTY === true) { source.destroy(); throw new Error(`cannot ${what} to a terminal: use -o FILE or redirect stdout`); }
    await pipeline(source, process.stdout);
    return;
  }
  try {
    await pipeline(source, createWriteStream(file));
  } catch (err) {
    rmSync(file, { force: true });
    throw err;
  }
}
