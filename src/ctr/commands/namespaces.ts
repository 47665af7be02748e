/** `berth-ctr namespaces create|ls|rm|label` */
import type { Command } from 'commander';
import type { CoreClient } from '../../core/client.js';
import { labelText, parseLabels, table } from '../output.js';

export function namespacesCommand(program: Command, client: () => CoreClient, out: (s: string) => void): void {
  const ns = program.command('namespaces').alias('namespace').alias('ns').description('manage namespaces');
  ns.command('create <name> [labels...]').description('create a namespace, with labels k=v')
    .action(async (name: string, labels: string[]) => {
      await client().namespaces.Create({ name, labels: parseLabels(labels).set });
    });
  ns.command('ls').alias('list').option('-q, --quiet', 'names only').description('list namespaces')
    .action(async (opts: { quiet?: boolean }) => {
      const { namespaces } = await client().namespaces.List({});
      if (opts.quiet) { out(namespaces.map((n) => n.name + '\n').join('')); return; }
      out(table([['NAME', 'LABELS'], ...namespaces.map((n) => [n.name, labelText(n.labels)])]));
    });
  ns.command('rm <names...>').alias('remove').description('remove empty namespaces')
    .action(async (names: string[]) => {
      for (const name of names) { await client().namespaces.Delete({ name }); out(name + '\n'); }
    });
  ns.command('label <name> [labels...]').description('set labels k=v on a namespace (k= removes k)')
    .action(async (name: string, labels: string[]) => {
      const { set, remove } = parseLabels(labels);
      await client().namespaces.Update({ name, setLabels: set, removeLabels: remove });
    });
}
