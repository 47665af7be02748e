/**
 * The berth-runtime command line: runc 1.1's grammar (global options, then a
 * verb with its options), parsed at the edge; commands never see argv.
 * Command modules are imported only when their verb is called.
 */
import { Command, CommanderError, Option } from 'commander';
import type { CommandContext, GlobalOptions } from '../commands/context.js';
import type { Conversation, Request } from '../planner/conversation.js';
import type { Logger } from '../../common/log.js';
import { BerthError, describeSystemError, exitCodeOf } from '../../common/errors.js';
import { VERSION, OCI_VERSION } from '../version.js';

export const DEFAULT_ROOT = '/run/berth/runtime';

type BaseContext = Omit<CommandContext, 'globals' | 'log' | 'front' | 'callerPid' | 'callerEnv'>;

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new BerthError('invalid-argument', `invalid value "${v}" for ${name}: not an integer`);
  return n;
};

export async function runCommandLine(
  args: string[],
  base: BaseContext,
  conv: Conversation,
  req: Request,
  makeLogger: (g: GlobalOptions) => Logger,
): Promise<number> {
  let code = 0;
  let ctx: CommandContext | undefined;
  const program = new Command(base.program);
  program
    .description('Berth OCI runtime: runs containers from OCI bundles (runc command line)')
    .option('--debug', 'enable debug logging', false)
    .option('--log <path>', 'log file (default: stderr only)')
    .addOption(new Option('--log-format <format>', 'log format').choices(['text', 'json']).default('text'))
    .option('--root <path>', 'root directory for container state', DEFAULT_ROOT)
    .option('--systemd-cgroup', 'use systemd for cgroups', false)
    .option('--criu <path>', 'path to criu (checkpoint/restore is not supported)')
    .option('--rootless <value>', 'ignore cgroup permission errors (true|false|auto)', 'auto')
    .version(`${base.program} version ${VERSION}\nspec: ${OCI_VERSION}`, '-v, --version')
    .exitOverride()
    .enablePositionalOptions()
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (s) => base.stdout.write(s),
      writeErr: (s) => base.stderr.write(s),
      outputError: (s, write) => write(s),
    });

  const context = (): CommandContext => {
    if (ctx) return ctx;
    const o = program.opts<{ debug: boolean; log?: string; logFormat: 'text' | 'json'; root: string; systemdCgroup: boolean }>();
    const resolve = (p: string): string => (p.startsWith('/') ? p : `${base.cwd.replace(/\/$/, '')}/${p}`);
    const globals: GlobalOptions = {
      root: resolve(o.root),
      log: o.log ? resolve(o.log) : undefined,
      logFormat: o.logFormat,
      debug: o.debug,
      systemdCgroup: o.systemdCgroup,
    };
    ctx = { ...base, globals, log: makeLogger(globals), front: conv, callerPid: req.frontPid, callerEnv: req.env };
    return ctx;
  };
  // Each action sets the exit code; errors are reported once, below.
  const act = <A extends unknown[]>(fn: (c: CommandContext, ...a: A) => Promise<number>) =>
    async (...a: A): Promise<void> => { code = await fn(context(), ...a); };

  program.command('create').description('create a container')
    .argument('<container-id>')
    .option('-b, --bundle <dir>', 'path to the bundle', '.')
    .option('--console-socket <path>', 'unix socket that receives the pty master')
    .option('--pid-file <path>', 'file to write the process id to')
    .option('--no-pivot', 'do not use pivot_root to jail the process (MS_MOVE + chroot)')
    .option('--no-new-keyring', 'do not create a new session keyring')
    .option('--preserve-fds <n>', 'pass N additional file descriptors to the container', int('--preserve-fds'), 0)
    .action(act(async (c, id: string, o: CreateFlags) => (await import('../commands/create.js')).run(c, id, normalizeCreate(o))));

  program.command('run').description('create and start a container')
    .argument('<container-id>')
    .option('-b, --bundle <dir>', 'path to the bundle', '.')
    .option('--console-socket <path>', 'unix socket that receives the pty master')
    .option('--pid-file <path>', 'file to write the process id to')
    .option('-d, --detach', 'detach from the container process', false)
    .option('--keep', 'do not delete the container after it exits', false)
    .option('--no-pivot', 'do not use pivot_root to jail the process')
    .option('--no-new-keyring', 'do not create a new session keyring')
    .option('--no-subreaper', 'accepted for compatibility')
    .option('--preserve-fds <n>', 'pass N additional file descriptors', int('--preserve-fds'), 0)
    .action(act(async (c, id: string, o: CreateFlags & { detach: boolean; keep: boolean }) =>
      (await import('../commands/run.js')).run(c, id, { ...normalizeCreate(o), detach: o.detach, keep: o.keep })));

  program.command('start').description('start a created container').argument('<container-id>')
    .action(act(async (c, id: string) => (await import('../commands/start.js')).run(c, id)));

  program.command('state').description('output the state of a container').argument('<container-id>')
    .action(act(async (c, id: string) => (await import('../commands/state.js')).run(c, id)));

  program.command('kill').description('send a signal to the container init (SIGTERM by default)')
    .argument('<container-id>').argument('[signal]', 'signal name or number', 'SIGTERM')
    .option('-a, --all', 'send the signal to every process of the container', false)
    .action(act(async (c, id: string, sig: string, o: { all: boolean }) => (await import('../commands/kill.js')).run(c, id, sig, o)));

  program.command('delete').description('delete a container and its resources').argument('<container-id>')
    .option('-f, --force', 'kill the container first if it is running', false)
    .action(act(async (c, id: string, o: { force: boolean }) => (await import('../commands/delete.js')).run(c, id, o)));

  program.command('list').description('list containers')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'print only ids', false)
    .action(act(async (c, o: { format: 'table' | 'json'; quiet: boolean }) => (await import('../commands/list.js')).run(c, o)));

  program.command('ps').description('list the processes of a container').passThroughOptions().argument('<container-id>')
    .argument('[ps-args...]', 'arguments for ps(1)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(act(async (c, id: string, psArgs: string[], o: { format: 'table' | 'json' }) => (await import('../commands/ps.js')).run(c, id, psArgs, o)));

  program.command('pause').description('freeze every process of a container').argument('<container-id>')
    .action(act(async (c, id: string) => (await import('../commands/pause.js')).pause(c, id)));
  program.command('resume').description('thaw a paused container').argument('<container-id>')
    .action(act(async (c, id: string) => (await import('../commands/pause.js')).resume(c, id)));

  program.command('events').description('print container events and resource statistics').argument('<container-id>')
    .option('--stats', 'print the statistics once and exit', false)
    .option('--interval <duration>', 'statistics interval', '5s')
    .action(act(async (c, id: string, o: { stats: boolean; interval: string }) => (await import('../commands/events.js')).run(c, id, o)));

  // passThroughOptions: like runc, flags after the container id belong to the command (`exec id sh -c …`)
  program.command('exec').description('run a process in a running container').passThroughOptions()
    .argument('<container-id>').argument('[command...]')
    .option('-p, --process <file>', 'process.json (OCI process) to run')
    .option('--console-socket <path>', 'unix socket that receives the pty master')
    .option('-t, --tty', 'allocate a pseudo-TTY', false)
    .option('-d, --detach', 'detach from the process', false)
    .option('--pid-file <path>', 'file to write the process id to')
    .option('-e, --env <NAME=value>', 'set an environment variable', collect, [])
    .option('--cwd <dir>', 'working directory')
    .option('-u, --user <uid[:gid]>', 'user id and group id')
    .option('-g, --additional-gids <gid>', 'additional gids', collect, [])
    .option('-c, --cap <cap>', 'add a capability', collect, [])
    .option('--no-new-privs', 'set no_new_privs')
    .option('--apparmor <profile>', 'AppArmor profile')
    .option('--process-label <label>', 'SELinux label')
    .option('--preserve-fds <n>', 'pass N additional file descriptors', int('--preserve-fds'), 0)
    .option('--cgroup <path>', 'sub-cgroup to run the process in')
    .option('--ignore-paused', 'allow exec in a paused container', false)
    .action(act(async (c, id: string, command: string[], o: ExecFlags) => (await import('../commands/exec.js')).run(c, id, command, o)));

  program.command('update').description('update the resource limits of a container').argument('<container-id>')
    .option('-r, --resources <file>', 'LinuxResources JSON file, "-" for stdin')
    .option('--memory <bytes>').option('--memory-swap <bytes>').option('--memory-reservation <bytes>')
    .option('--kernel-memory <bytes>').option('--kernel-memory-tcp <bytes>')
    .option('--cpu-share <n>', 'CPU shares (relative weight), runc\'s name').option('--cpu-shares <n>').option('--cpu-quota <n>').option('--cpu-period <n>').option('--cpu-burst <n>')
    .option('--cpu-rt-period <n>').option('--cpu-rt-runtime <n>').option('--cpuset-cpus <list>').option('--cpuset-mems <list>')
    .option('--cpu-idle <n>').option('--pids-limit <n>').option('--blkio-weight <n>')
    .option('--l3-cache-schema <s>').option('--mem-bw-schema <s>')
    .action(act(async (c, id: string, o: Record<string, string | undefined>) => (await import('../commands/update.js')).run(c, id, o)));

  program.command('spec').description('create a new specification file (config.json)')
    .option('-b, --bundle <dir>', 'path to the bundle', '.')
    .option('--rootless', 'a spec for a rootless container', false)
    .action(act(async (c, o: { bundle: string; rootless: boolean }) => (await import('../commands/spec.js')).run(c, o)));

  program.command('features').description("show the runtime's enabled features")
    .action(act(async (c) => (await import('../commands/features.js')).run(c, {})));

  for (const verb of ['checkpoint', 'restore']) {
    program.command(verb).allowUnknownOption().argument('[args...]').description('not supported')
      .action(() => { throw new BerthError('unavailable', `${verb} is not supported by ${base.program}`); });
  }

  try {
    if (args.length === 0) { program.outputHelp(); return 0; }
    await program.parseAsync(args, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version end with exitCode 0; usage errors were already printed
      return err.exitCode === 0 ? 0 : 1;
    }
    const msg = describeSystemError(err);
    const log = ctx?.log;
    if (log) log.error(msg);
    base.stderr.write(`${base.program}: ${msg}\n`);
    return exitCodeOf(err);
  }
}

export interface CreateFlags {
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  pivot: boolean;
  newKeyring: boolean;
  preserveFds: number;
}

export interface CreateOptions {
  bundle: string;
  consoleSocket: string | undefined;
  pidFile: string | undefined;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
}

function normalizeCreate(o: CreateFlags): CreateOptions {
  return {
    bundle: o.bundle,
    consoleSocket: o.consoleSocket,
    pidFile: o.pidFile,
    noPivot: o.pivot === false,
    noNewKeyring: o.newKeyring === false,
    preserveFds: o.preserveFds,
  };
}

export interface ExecFlags {
  process?: string;
  consoleSocket?: string;
  tty: boolean;
  detach: boolean;
  pidFile?: string;
  env: string[];
  cwd?: string;
  user?: string;
  additionalGids: string[];
  cap: string[];
  newPrivs: boolean;
  apparmor?: string;
  processLabel?: string;
  preserveFds: number;
  cgroup?: string;
  ignorePaused: boolean;
}
