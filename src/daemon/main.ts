/**
 * berthd: the Docker Engine API on top of berth-core.
 *   berthd [-H unix:///run/berth/berth.sock] [--data-root DIR] [--exec-root DIR]
 *          [--config-file /etc/berth/daemon.json] [--core-address SOCK] …
 * Logs go to stderr; SIGTERM/SIGINT stop serving (the core and containers
 * stay up); SIGHUP re-reads the config file.
 */
import { readFileSync } from 'node:fs';
import { BerthError, describeSystemError, wrap } from '../common/errors.js';
import { createLogger, type LogSink } from '../common/log.js';
import { parseConfigFile, resolveConfig, type DaemonConfig, type Directives } from './config.js';
import { Daemon } from './daemon.js';
import { parseCommandLine, type CommandLine } from './flags.js';
import { installBinDir } from './paths.js';
import { BERTHD_VERSION } from './version.js';

/** The file's directives: a named file must exist, the default one may be absent. */
function readConfigFile(cl: CommandLine): { path: string; directives: Directives } | undefined {
  const { path, explicit } = cl.configFile;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw wrap(`cannot read config file ${path}`, err);
  }
  return { path, directives: parseConfigFile(path, text) };
}

function effectiveConfig(cl: CommandLine, binDir: string): DaemonConfig {
  return resolveConfig(cl.directives, readConfigFile(cl), binDir);
}

async function main(argv: string[]): Promise<void> {
  const cl = parseCommandLine(argv, BERTHD_VERSION);
  const binDir = installBinDir();
  const config = effectiveConfig(cl, binDir);
  const sinks: LogSink[] = [{ format: 'text', level: config.logLevel, write: (line) => { process.stderr.write(line); } }];
  const log = createLogger(sinks, { component: 'berthd' });
  const daemon = await Daemon.start({ config, log, sinks, binDir });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    daemon.stop().then(() => process.exit(0), (err: unknown) => {
      log.error('stop failed', { error: describeSystemError(err) });
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    try { daemon.reload(effectiveConfig(cl, binDir)); } catch (err) {
      log.error('cannot reload the configuration', { error: err instanceof BerthError ? err.message : describeSystemError(err) });
    }
  });
}

main(process.argv).catch((err: unknown) => {
  const message = err instanceof BerthError ? err.message : describeSystemError(err);
  process.stderr.write(`berthd: ${message}\n`);
  process.exit(1);
});
