/** `berth-ctr leases ls|create|rm` and `berth-ctr gc` */
import type { Command } from 'commander';
import type { CoreClient } from '../../core/client.js';
import { labelText, parseLabels, table, timeText } from '../output.js';
import { humanSize } from './images.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function leasesCommand(program: Command, client: () => CoreClient, out: (s: string) => void): void {
  const l = program.command('leases').alias('lease').description('manage leases');
  l.command('ls').alias('list').description('list leases')
    .action(async () => {
      const { leases } = await client().leases.List({ filters: [] });
      out(table([['ID', 'CREATED', 'EXPIRES', 'LABELS'],
        ...leases.map((x) => [x.id, timeText(x.createdAt), x.expiresAt ? timeText(x.expiresAt) : 'never', labelText(x.labels) || '-'])]));
    });
  l.command('create [id]').description('create a lease (prints its id)')
    .option('--expires <seconds>', 'lifetime in seconds (default: never)', '0')
    .option('--label <k=v>', 'label (repeatable)', collect, [])
    .action(async (id: string | undefined, opts: { expires: string; label: string[] }) => {
      const { lease } = await client().leases.Create({ id: id ?? '', expireSeconds: opts.expires, labels: parseLabels(opts.label).set });
      out(`${lease?.id ?? ''}\n`);
    });
  l.command('rm <ids...>').alias('delete').description('delete leases')
    .option('--sync', 'collect garbage before returning')
    .action(async (ids: string[], opts: { sync?: boolean }) => {
      for (const id of ids) { await client().leases.Delete({ id, sync: opts.sync ?? false }); out(id + '\n'); }
    });
  program.command('gc').description('collect garbage: content and snapshots nothing references')
    .action(async () => {
      const r = await client().gc.Collect({});
      out(`removed ${r.contentRemoved} blobs, ${r.snapshotsRemoved} snapshots; freed ${humanSize(Number(r.bytesFreed))} in ${r.durationMs} ms\n`);
    });
}
