/** `berth-ctr images pull|push|ls|inspect|history|tag|rm|prune` */
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
  im.command('prune').description('remove images without a tag (with --all: every image no container uses)')
    .option('-a, --all', 'every unused image')
    .action(async (opts: { all?: boolean }) => {
      const { deleted } = await client().images.Prune({ all: opts.all ?? false });
      for (const d of deleted) out(`Deleted: ${d}\n`);
    });
}
