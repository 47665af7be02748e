/**
 * berth-core: the daemon in the containerd role.
 *   berth-core [--address SOCK] [--root DIR] [--state DIR] [--config FILE]
 *              [--log-level LEVEL] [--log-file FILE]
 * Logs go to stderr (text) or to --log-file (JSON); stdout stays silent.
 * SIGTERM and SIGINT stop it gracefully.
 */
import { Command } from 'commander';
import { createLogger, fileSink, type Level, type LogSink } from '../common/log.js';
import { BerthError, describeSystemError } from '../common/errors.js';
import { DEFAULT_ADDRESS, DEFAULT_ROOT, DEFAULT_STATE, loadConfig } from './config.js';
import { startCore } from './server.js';

interface Flags { address?: string; root?: string; state?: string; config?: string; logLevel?: string; logFile?: string }

function sinks(level: Level, file: string | undefined): LogSink[] {
  if (file !== undefined) return [fileSink(file, 'json', level)];
  return [{ format: 'text', level, write: (line) => { process.stderr.write(line); } }];
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('berth-core')
    .description('Berth core daemon: namespaces, containers, tasks and events over gRPC on a unix socket')
    .option('--address <socket>', `unix socket to serve on (default ${DEFAULT_ADDRESS})`)
    .option('--root <dir>', `persistent state: metadata database (default ${DEFAULT_ROOT})`)
    .option('--state <dir>', `volatile state (default ${DEFAULT_STATE})`)
    .option('--config <file>', 'JSON config file (address, root, state, log-level, log-file, default-runtime, runtimes)')
    .option('--log-level <level>', 'debug, info, warning or error (default info)')
    .option('--log-file <file>', 'write JSON logs to this file instead of stderr')
    .showHelpAfterError();
  program.parse(argv);
  const flags = program.opts<Flags>();
  const config = loadConfig(flags.config, {
    address: flags.address, root: flags.root, state: flags.state, logFile: flags.logFile,
    logLevel: flags.logLevel as Level | undefined,
  });
  const log = createLogger(sinks(config.logLevel, config.logFile), { component: 'berth-core' });
  const core = await startCore(config, log);
  const onSignal = (signal: string): void => {
    log.info('stopping', { signal });
    void core.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

main(process.argv).catch((err: unknown) => {
  const message = err instanceof BerthError ? err.message : describeSystemError(err);
  process.stderr.write(`berth-core: ${message}\n`);
  process.exit(1);
});
