/** `berth-ctr content ls|get|rm|fetch` */
import type { Command } from 'commander';
import type { CoreClient } from '../../core/client.js';
import { labelText, table } from '../output.js';
import { humanSize, ProgressView } from './images.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function contentCommand(program: Command, client: () => CoreClient, out: (s: string) => void): void {
  const c = program.command('content').description('manage the content store');
  c.command('ls').alias('list').description('list blobs')
    .option('-q, --quiet', 'digests only')
    .option('--filter <f>', 'filter (repeatable), e.g. labels.KEY==V', collect, [])
    .action(async (opts: { quiet?: boolean; filter: string[] }) => {
      const { info } = await client().content.List({ filters: opts.filter });
      if (opts.quiet) { out(info.map((i) => i.digest + '\n').join('')); return; }
      out(table([['DIGEST', 'SIZE', 'LABELS'], ...info.map((i) => [i.digest, humanSize(Number(i.size)), labelText(i.labels) || '-'])]));
    });
  c.command('get <digest>').description('write a blob to stdout')
    .action(async (digest: string) => {
      const data = await client().readContent(digest);
      await new Promise<void>((resolve, reject) => process.stdout.write(data, (err) => (err ? reject(err) : resolve())));
    });
  c.command('rm <digests...>').alias('delete').description('remove blobs from the namespace')
    .action(async (digests: string[]) => {
      for (const digest of digests) { await client().content.Delete({ digest }); out(digest + '\n'); }
    });
  c.command('fetch <ref>').description('fetch an image\'s content without unpacking it')
    .option('--platform <os/arch[/variant]>', 'platform to fetch (default linux/amd64)')
    .option('--user <user:pass>', 'registry credentials')
    .action(async (ref: string, opts: { platform?: string; user?: string }) => {
      const view = new ProgressView(out, process.stdout.isTTY === true);
      const at = opts.user?.indexOf(':') ?? -1;
      const image = await client().pull({
        ref, platform: opts.platform ?? '', unpack: false, snapshotter: '',
        username: opts.user === undefined ? '' : at < 0 ? opts.user : opts.user.slice(0, at), password: at < 0 ? '' : opts.user!.slice(at + 1),
      }, (p) => { if (p.status !== 'stored') view.update(p); });
      out(`${image.name} ${image.target?.digest ?? ''}\n`);
    });
}
