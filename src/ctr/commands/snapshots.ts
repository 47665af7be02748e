/** `berth-ctr snapshots ls|prepare|view|mounts|commit|rm|usage` */
import type { Command } from 'commander';
import type { MountMessage } from '../../core/api/types.js';
import type { CoreClient } from '../../core/client.js';
import { labelText, table } from '../output.js';
import { humanSize } from './images.js';

/** mount(8) command lines for the mounts at target. */
const mountText = (ms: MountMessage[], target: string): string =>
  ms.map((m) => `mount -t ${m.type} ${m.source} ${target}${m.options.length > 0 ? ` -o ${m.options.join(',')}` : ''}\n`).join('');

export function snapshotsCommand(program: Command, client: () => CoreClient, out: (s: string) => void): void {
  const s = program.command('snapshots').alias('snapshot').description('manage snapshots')
    .option('--snapshotter <name>', 'snapshotter (default: the core\'s)', '');
  const sn = (): string => s.opts<{ snapshotter: string }>().snapshotter;
  s.command('ls').alias('list').description('list snapshots')
    .action(async () => {
      const { info } = await client().snapshots.List({ snapshotter: sn(), filters: [] });
      out(table([['KEY', 'PARENT', 'KIND', 'LABELS'], ...info.map((i) => [i.name, i.parent || '-', i.kind, labelText(i.labels) || '-'])]));
    });
  s.command('prepare <key> [parent]').description('make an active snapshot over parent')
    .option('--target <dir>', 'print mount commands for this target')
    .action(async (key: string, parent: string | undefined, opts: { target?: string }) => {
      const { mounts } = await client().snapshots.Prepare({ snapshotter: sn(), key, parent: parent ?? '', labels: {} });
      if (opts.target) out(mountText(mounts, opts.target));
    });
  s.command('view <key> [parent]').description('make a read-only view of parent')
    .option('--target <dir>', 'print mount commands for this target')
    .action(async (key: string, parent: string | undefined, opts: { target?: string }) => {
      const { mounts } = await client().snapshots.View({ snapshotter: sn(), key, parent: parent ?? '', labels: {} });
      if (opts.target) out(mountText(mounts, opts.target));
    });
  s.command('mounts <target> <key>').description('print the mount commands of a snapshot')
    .action(async (target: string, key: string) => {
      out(mountText((await client().snapshots.Mounts({ snapshotter: sn(), key })).mounts, target));
    });
  s.command('commit <name> <key>').description('commit an active snapshot as name')
    .action(async (name: string, key: string) => { await client().snapshots.Commit({ snapshotter: sn(), name, key, labels: {} }); });
  s.command('rm <keys...>').alias('delete').description('remove snapshots')
    .action(async (keys: string[]) => {
      for (const key of keys) { await client().snapshots.Remove({ snapshotter: sn(), key }); out(key + '\n'); }
    });
  s.command('usage [key]').description('disk usage of a snapshot (or of all)')
    .action(async (key: string | undefined) => {
      const keys = key !== undefined ? [key] : (await client().snapshots.List({ snapshotter: sn(), filters: [] })).info.map((i) => i.name);
      const rows = [['KEY', 'SIZE', 'INODES']];
      for (const k of keys) {
        const u = await client().snapshots.Usage({ snapshotter: sn(), key: k });
        rows.push([k, humanSize(Number(u.size)), u.inodes]);
      }
      out(table(rows));
    });
}
