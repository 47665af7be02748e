/**
 * berth-ctr: the operator's command line for berth-core (containerd's ctr).
 *   berth-ctr [--address SOCK] [-n NS] namespaces|containers|tasks|run|images|content|snapshots|leases|gc|events|version …
 * Errors go to stderr as `berth-ctr: <message>` with exit code 1.
 */
import { Command, CommanderError } from 'commander';
import { BerthError, describeSystemError } from '../common/errors.js';
import { timestampMs } from '../core/api/types.js';
// only the type: the client (gRPC, the API definition) is loaded by the
// command that needs it, so --help and argument errors do not pay for it
import type { CoreClient } from '../core/client.js';
import { DEFAULT_ADDRESS } from '../core/config.js';
import { containersCommand } from './commands/containers.js';
import { contentCommand } from './commands/content.js';
import { imagesCommand } from './commands/images.js';
import { leasesCommand } from './commands/leases.js';
import { snapshotsCommand } from './commands/snapshots.js';
import { namespacesCommand } from './commands/namespaces.js';
import { tasksCommand } from './commands/tasks.js';

const VERSION = '0.1.0';
const out = (s: string): void => { process.stdout.write(s); };

async function main(argv: string[]): Promise<void> {
  let client: CoreClient | undefined;
  const program = new Command()
    .name('berth-ctr')
    .description('command line for berth-core')
    .option('--address <socket>', 'berth-core socket', process.env.BERTH_CORE_ADDRESS ?? DEFAULT_ADDRESS)
    // no default here: the client's is the API's default namespace
    .option('-n, --namespace <ns>', 'namespace (default: $BERTH_NAMESPACE, else "default")', process.env.BERTH_NAMESPACE)
    .exitOverride()
    .showHelpAfterError();
  let Client: typeof CoreClient | undefined;
  program.hook('preAction', async () => { Client ??= (await import('../core/client.js')).CoreClient; });
  const getClient = (): CoreClient => {
    const g = program.opts<{ address: string; namespace?: string }>();
    if (!Client) throw new Error('the core client is used before the action hook loaded it');
    client ??= new Client(g.address, g.namespace);
    return client;
  };
  namespacesCommand(program, getClient, out);
  containersCommand(program, getClient, out);
  tasksCommand(program, getClient, out);
  imagesCommand(program, getClient, out);
  contentCommand(program, getClient, out);
  snapshotsCommand(program, getClient, out);
  leasesCommand(program, getClient, out);
  program.command('events').description('print events until interrupted')
    .option('--topic <prefix>', 'topic prefix (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .action(async (opts: { topic: string[] }) => {
      const stream = getClient().subscribe({ topics: opts.topic });
      process.on('SIGINT', () => { stream.cancel(); });
      process.on('SIGTERM', () => { stream.cancel(); });
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (e) => {
          out(`${new Date(timestampMs(e.timestamp)).toISOString()} ${e.namespace} ${e.topic} ${e.event.toString('utf8')}\n`);
        });
        stream.on('end', resolve);
        stream.on('error', reject);
      });
    });
  program.command('version').description('print client and server versions')
    .action(async () => {
      out(`Client:\n  Version: ${VERSION}\n`);
      await getClient().waitForReady(2000);
      out(`Server:\n  Address: ${program.opts<{ address: string }>().address}\n`);
    });
  try {
    await program.parseAsync(argv);
  } finally {
    client?.close();
  }
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 1);
  const message = err instanceof BerthError ? err.message : describeSystemError(err);
  process.stderr.write(`berth-ctr: ${message}\n`);
  process.exit(1);
});
