/** `berth-ctr containers create|ls|info|rm|label|export` */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Container } from '../../core/api/types.js';
import type { CoreClient } from '../../core/client.js';
import { specTemplate } from '../../common/oci-template.js';
import { labelText, parseLabels, table, timeText } from '../output.js';
import { writeOut } from './images.js';

interface CreateOpts { rootfs?: string; runtime?: string; label: string[]; image?: string; tty?: boolean; env: string[]; cwd?: string }

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** The default OCI spec (as `berth-runtime spec` writes it) running args in rootfs. */
export function containerSpec(id: string, rootfs: string, args: string[], opts: { tty?: boolean; env?: string[]; cwd?: string }): Buffer {
  const spec = specTemplate({});
  if (args.length > 0) spec.process.args = args;
  spec.process.terminal = opts.tty ?? false;
  spec.process.env = [...spec.process.env, ...(opts.env ?? [])];
  if (opts.cwd) spec.process.cwd = opts.cwd;
  spec.root.path = rootfs;
  spec.hostname = id;
  return Buffer.from(JSON.stringify(spec));
}

function info(c: Container): string {
  const spec: unknown = c.spec.length > 0 ? JSON.parse(c.spec.toString('utf8')) : null;
  return JSON.stringify({
    id: c.id, image: c.image, runtime: { name: c.runtime?.name ?? '', options: c.runtime?.options.toString('utf8') ?? '' },
    rootfs: c.rootfs, snapshotKey: c.snapshotKey, snapshotter: c.snapshotter, labels: c.labels,
    createdAt: timeText(c.createdAt), updatedAt: timeText(c.updatedAt), spec,
  }, null, 2) + '\n';
}

export function containersCommand(program: Command, client: () => CoreClient, out: (s: string) => void): void {
  const cs = program.command('containers').alias('container').alias('c').description('manage containers');
  cs.command('create <id> [args...]').description('create a container running args (after --) in a rootfs directory')
    .requiredOption('--rootfs <dir>', 'root filesystem directory')
    .option('--runtime <name>', 'runtime name from the core\'s table (default: the core\'s default)')
    .option('--label <k=v>', 'label (repeatable)', collect, [])
    .option('--env <k=v>', 'environment variable (repeatable)', collect, [])
    .option('--cwd <dir>', 'working directory in the container')
    .option('--image <ref>', 'image reference to record')
    .option('-t, --tty', 'allocate a terminal')
    .action(async (id: string, args: string[], opts: CreateOpts) => {
      const rootfs = resolve(opts.rootfs!);
      await client().containers.Create({
        container: {
          id, image: opts.image ?? '', spec: containerSpec(id, rootfs, args, opts),
          runtime: { name: opts.runtime ?? '', options: Buffer.alloc(0) }, rootfs, snapshotKey: '', snapshotter: '',
          labels: parseLabels(opts.label).set, createdAt: null, updatedAt: null,
        },
      });
    });
  cs.command('ls').alias('list').option('-q, --quiet', 'ids only').option('--filter <f>', 'filter (repeatable), e.g. labels.app==web', collect, [])
    .description('list containers')
    .action(async (opts: { quiet?: boolean; filter: string[] }) => {
      const { containers } = await client().containers.List({ filters: opts.filter });
      if (opts.quiet) { out(containers.map((c) => c.id + '\n').join('')); return; }
      out(table([['CONTAINER', 'IMAGE', 'RUNTIME', 'LABELS'],
        ...containers.map((c) => [c.id, c.image === '' ? '-' : c.image, c.runtime?.name ?? '', labelText(c.labels)])]));
    });
  cs.command('info <id>').description('show a container as JSON')
    .action(async (id: string) => {
      const { container } = await client().containers.Get({ id });
      if (container) out(info(container));
    });
  cs.command('rm <ids...>').alias('delete').description('remove containers')
    .action(async (ids: string[]) => {
      for (const id of ids) { await client().containers.Delete({ id }); out(id + '\n'); }
    });
  cs.command('export <id>').description('write a container\'s filesystem as a tar, to stdout without -o')
    .option('-o, --output <file>', 'the tar file to write')
    .action(async (id: string, opts: { output?: string }) => {
      await writeOut(client().exportContainer(id), opts.output, `export container ${id}`);
    });
  cs.command('label <id> [labels...]').description('set labels k=v on a container (k= removes k)')
    .action(async (id: string, labels: string[]) => {
      const { set, remove } = parseLabels(labels);
      const mask = [...Object.keys(set), ...remove].map((k) => `labels.${k}`);
      if (mask.length === 0) return;
      await client().containers.Update({ container: { id, labels: set } as Container, updateMask: mask });
    });
}
