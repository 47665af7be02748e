/**
 * berth: the docker-compatible command line. Global flags (-H/--host,
 * --context, --log-level, -D) come before the command; the command's own
 * flags follow docker's grammar. Talks to berthd (or any Docker Engine API)
 * and nothing else.
 */
import { Opts, parseArgs, UsageError, type FlagSpec } from './args.js';
import { EngineClient, ConnectError, DaemonError } from './client.js';
import { CliError, describe, type CliContext, type CommandSpec } from './command.js';
import { containerCommands } from './commands/containers.js';
import { imageCommands } from './commands/images.js';
import { inspectCommands } from './commands/inspect.js';
import { logsCommand } from './commands/logs.js';
import { runCommands } from './commands/run.js';
import { CLI_VERSION, systemCommands } from './commands/system.js';
import { archiveCommands } from './commands/archive.js';
import { buildCommands } from './commands/build.js';
import { completionCommand } from './commands/completion.js';
import { contextCommands } from './commands/context.js';
import { cpCommand } from './commands/cp.js';
import { detailCommands } from './commands/details.js';
import { maintenanceCommands } from './commands/maintenance.js';
import { networkCommands } from './commands/networks.js';
import { registryCommands } from './commands/registry.js';
import { statsCommand } from './commands/stats.js';
import { volumeCommands } from './commands/volumes.js';
import { resolveHost } from './contextstore.js';
import { TemplateError } from './format/template.js';
import { parseHost } from './host.js';

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'host', short: 'H', type: 'list' }, { name: 'context', short: 'c', type: 'string' },
  { name: 'log-level', short: 'l', type: 'string', def: 'info' }, { name: 'debug', short: 'D', type: 'bool' },
  { name: 'config', type: 'string' }, { name: 'tls', type: 'bool' }, { name: 'tlsverify', type: 'bool' },
  { name: 'version', short: 'v', type: 'bool' }, { name: 'help', type: 'bool' },
];

export const COMMANDS: CommandSpec[] = [
  ...runCommands, ...containerCommands, logsCommand, ...inspectCommands, ...imageCommands, ...systemCommands,
  ...registryCommands, ...archiveCommands, cpCommand, statsCommand, ...detailCommands, ...maintenanceCommands,
  ...volumeCommands, ...networkCommands, ...contextCommands, ...buildCommands,
  completionCommand(() => ({ commands: COMMANDS, globalFlags: GLOBAL_FLAGS })),
];

/** The command named by the first one or two words of argv, and the rest. */
function findCommand(words: string[]): { spec: CommandSpec; rest: string[] } | undefined {
  for (const n of [2, 1]) {
    const name = words.slice(0, n).join(' ');
    const spec = COMMANDS.find((c) => c.names.includes(name));
    if (spec && words.length >= n) return { spec, rest: words.slice(n) };
  }
  return undefined;
}

function usage(spec: CommandSpec): string {
  const flags = spec.flags.filter((f) => f.name !== 'help')
    .map((f) => `  ${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.type === 'bool' ? '' : f.type === 'int' ? ' int' : f.type === 'list' ? ' list' : ' string'}`);
  return `\nUsage:  berth ${spec.usage}\n\n${spec.summary}\n${flags.length > 0 ? `\nOptions:\n${flags.join('\n')}\n` : ''}`;
}

function mainUsage(): string {
  const names = COMMANDS.map((c) => `  ${c.names[0]!.padEnd(12)}${c.summary}`);
  return `\nUsage:  berth [OPTIONS] COMMAND\n\nA container engine with docker's grammar\n\nCommands:\n${names.join('\n')}\n\nGlobal Options:\n`
    + '  -H, --host list        Daemon socket to connect to (BERTH_HOST, DOCKER_HOST)\n  -c, --context string   Name of the context to use\n'
    + '  -l, --log-level string Set the logging level\n  -v, --version          Print version information and quit\n';
}

export async function main(argv: string[], io: { out(t: string): void; err(t: string): void } = {
  out: (t) => { process.stdout.write(t); }, err: (t) => { process.stderr.write(t); },
}): Promise<number> {
  let global: Opts;
  try {
    global = new Opts(parseArgs(argv, GLOBAL_FLAGS, false));
  } catch (e) {
    io.err(`${(e as Error).message}\nSee 'berth --help'.\n`);
    return 125;
  }
  if (global.bool('version')) { io.out(`Berth version ${CLI_VERSION}\n`); return 0; }
  if (global.args.length === 0 || global.bool('help') || global.args[0] === 'help') { io.out(mainUsage()); return 0; }
  const found = findCommand(global.args);
  if (!found) {
    io.err(`berth: unknown command: berth ${global.args[0]}\n\nRun 'berth --help' for more information\n`);
    return 1;
  }
  const { spec, rest } = found;
  let opts: Opts;
  try {
    opts = new Opts(parseArgs(rest, spec.flags, spec.interspersed ?? true));
    if (opts.bool('help')) { io.out(usage(spec)); return 0; }
    checkArity(spec, opts.args.length);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    const arity = e.message.startsWith("'berth ");
    io.err(`${arity ? 'berth: ' : ''}${e.message}\n\nUsage:  berth ${spec.usage}\n\nRun 'berth ${spec.names[0]} --help' for more information\n`);
    return arity && !['run', 'create'].includes(spec.names[0]!) ? 1 : 125;
  }
  const hosts = global.list('host');
  let client: EngineClient | undefined;
  const ctx: CliContext = {
    ...io,
    env: process.env,
    client: () => (client ??= new EngineClient(parseHost(resolveHost(hosts[hosts.length - 1], global.str('context') || undefined, process.env)), process.env.DOCKER_API_VERSION)),
  };
  try {
    return await spec.run(ctx, opts);
  } catch (e) {
    return report(io, spec, e);
  }
}

/** Docker's "requires at least N argument(s)" errors. */
function checkArity(spec: CommandSpec, n: number): void {
  const name = spec.names[0]!;
  const plural = (k: number): string => `${k} argument${k === 1 ? '' : 's'}`;
  if (spec.minArgs !== undefined && spec.maxArgs !== undefined && spec.minArgs === spec.maxArgs && n !== spec.minArgs) {
    throw new UsageError(`'berth ${name}' requires exactly ${plural(spec.minArgs)}`);
  }
  if (spec.minArgs !== undefined && n < spec.minArgs) throw new UsageError(`'berth ${name}' requires at least ${plural(spec.minArgs)}`);
  if (spec.maxArgs !== undefined && n > spec.maxArgs) {
    throw new UsageError(spec.maxArgs === 0 ? `'berth ${name}' accepts no arguments` : `'berth ${name}' requires at most ${plural(spec.maxArgs)}`);
  }
}

/** Prints a command's failure as docker does and picks the exit code. */
function report(io: { err(t: string): void }, spec: CommandSpec, e: unknown): number {
  const isRun = spec.names[0] === 'run' || spec.names[0] === 'create';
  if (e instanceof CliError) { io.err(`${e.message}\n`); return e.code; }
  if (e instanceof UsageError) { io.err(`${e.message}\n`); return isRun ? 125 : 1; }
  if (e instanceof TemplateError) { io.err(`${e.message}\n`); return 1; }
  if (e instanceof DaemonError || e instanceof ConnectError) {
    io.err(isRun ? `berth: ${describe(e)}\n\nRun 'berth ${spec.names[0]} --help' for more information\n` : `${describe(e)}\n`);
    return isRun ? 125 : 1;
  }
  io.err(`berth: ${e instanceof Error ? e.message : String(e)}\n`);
  return isRun ? 125 : 1;
}

/**
 * For a zygote waiting for its command: runs the common command lines once against a socket
 * that does not exist, output dropped, so that V8 has compiled their code (it compiles each
 * function on its first call) before a real command's clock starts. Each fails at its connect.
 * Stops between lines once `stop` says a command has come.
 */
export async function warm(stop: () => boolean = () => false): Promise<void> {
  const nowhere = `unix:///nonexistent-berth-warm-${process.pid}/berth.sock`;
  const sink = { out: (): void => undefined, err: (): void => undefined };
  for (const line of [['run', '--rm', 'busybox', 'true'], ['ps', '-a'], ['inspect', 'x'], ['images'], ['logs', 'x'], ['exec', 'x', 'true']]) {
    if (stop()) return;
    await main(['-H', nowhere, ...line], sink).catch(() => undefined);
  }
}

/** For the zygote: the C front that can copy attach streams itself (front.ts). */
export { setFrontStreamer } from './front.js';

/** Runs one command line as the whole life of this process, then exits with its code. */
export function runAndExit(argv: string[]): void {
  main(argv).then((code) => {
    // let stdout drain before exiting with the code
    process.stdout.write('', () => process.exit(code));
  }, (e: unknown) => {
    process.stderr.write(`berth: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  });
}

// Run when executed (bin/berth, the launcher, the esbuild bundle or tsx), not when imported by tests,
// nor when loaded by a zygote (scripts/berth-zygote.cjs), which calls runAndExit once a command arrives.
const entry = process.argv[1] ?? '';
if (process.env.BERTH_CLI_ZYGOTE === undefined && /(?:^|\/)(?:berth|berth-launcher\.cjs|berth\.cjs|main\.ts)$/.test(entry)) {
  runAndExit(process.argv.slice(2));
}
