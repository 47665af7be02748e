/**
 * dockerd's command line for berthd, parsed at the edge: the result is the
 * set of directives the flags gave (only those given, so a conflict with
 * the config file can be told from a default) and where the file is.
 */
import { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, DEFAULT_DATA_ROOT, DEFAULT_EXEC_ROOT, DEFAULT_HOST, DEFAULT_RUNTIME, parseAddRuntime, type Directives, type RuntimeConfig } from './config.js';

export interface CommandLine {
  directives: Directives;
  /** the config file and whether it was named (a named file must exist) */
  configFile: { path: string; explicit: boolean };
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

interface RawFlags {
  host?: string[]; dataRoot?: string; execRoot?: string; pidfile?: string; configFile?: string; addRuntime?: string[];
  defaultRuntime?: string; logLevel?: string; debug?: boolean; insecureRegistry?: string[]; liveRestore?: boolean;
  coreAddress?: string; group?: string; tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string;
  logDriver?: string; logOpt?: string[];
}

function logOpts(list: string[] | undefined): Record<string, string> | undefined {
  if (list === undefined) return undefined;
  return Object.fromEntries(list.map((kv) => {
    const eq = kv.indexOf('=');
    return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
  }));
}

export function buildProgram(version: string): Command {
  return new Command()
    .name('berthd')
    .description('Berth daemon: the Docker Engine API on a unix socket, on top of berth-core')
    .version(version, '-v, --version', 'print the version and exit')
    .option('-H, --host <address>', `daemon socket to listen on (repeatable; default ${DEFAULT_HOST})`, collect)
    .option('--data-root <dir>', `persistent state (default ${DEFAULT_DATA_ROOT})`)
    .option('--exec-root <dir>', `volatile state: sockets, pidfile (default ${DEFAULT_EXEC_ROOT})`)
    .option('-p, --pidfile <file>', 'path of the pid file (default /run/berth/berthd.pid, or <exec-root>/berthd.pid)')
    .option('--config-file <file>', `daemon configuration file (default ${DEFAULT_CONFIG_FILE})`)
    .option('--add-runtime <name=path>', 'register an OCI runtime (repeatable)', collect)
    .option('--default-runtime <name>', `runtime for containers that name none (default ${DEFAULT_RUNTIME})`)
    .option('-l, --log-level <level>', 'debug, info, warn, error or fatal (default info)')
    .option('-D, --debug', 'debug logging')
    .option('--log-driver <name>', 'default logging driver of containers (default json-file)')
    .option('--log-opt <key=value>', 'default logging driver options (repeatable)', collect)
    .option('--insecure-registry <registry>', 'registry reached over plain http or unverified TLS (repeatable)', collect)
    .option('--live-restore', 'keep containers running while the daemon is down (always the case with Berth)')
    .option('--core-address <socket>', 'berth-core socket (default <exec-root>/core.sock; started by berthd when nothing answers)')
    .option('-G, --group <group>', 'group owning the unix sockets (default docker)')
    .option('--tlsverify', 'serve tcp hosts with TLS and require client certificates signed by --tlscacert')
    .option('--tlscacert <file>', 'CA certificate clients must be signed by')
    .option('--tlscert <file>', 'server certificate')
    .option('--tlskey <file>', 'server key')
    .showHelpAfterError();
}

/** Parses argv (node and script included) into directives. */
export function parseCommandLine(argv: string[], version: string): CommandLine {
  const program = buildProgram(version);
  program.parse(argv);
  const f = program.opts<RawFlags>();
  let runtimes: Record<string, RuntimeConfig> | undefined;
  if (f.addRuntime) runtimes = Object.fromEntries(f.addRuntime.map(parseAddRuntime));
  const d: Directives = {
    hosts: f.host, 'data-root': f.dataRoot, 'exec-root': f.execRoot, pidfile: f.pidfile, 'core-address': f.coreAddress,
    runtimes, 'default-runtime': f.defaultRuntime, 'log-level': f.logLevel, debug: f.debug, 'log-driver': f.logDriver,
    'log-opts': logOpts(f.logOpt), 'insecure-registries': f.insecureRegistry, 'live-restore': f.liveRestore, group: f.group,
    tlsverify: f.tlsverify, tlscacert: f.tlscacert, tlscert: f.tlscert, tlskey: f.tlskey,
  };
  for (const k of Object.keys(d) as (keyof Directives)[]) if (d[k] === undefined) delete d[k];
  return { directives: d, configFile: { path: f.configFile ?? DEFAULT_CONFIG_FILE, explicit: f.configFile !== undefined } };
}
