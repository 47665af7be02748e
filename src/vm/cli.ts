/**
 * berth-vm's command line: berth-runtime's grammar (runc 1.1's verbs and
 * flags, so dockerd, containerd and berth-shim drive it unchanged), parsed
 * here at the edge; the verbs get a VmContext and plain options.
 */
import { appendFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { BerthError, describeSystemError, exitCodeOf } from '../common/errors.js';
import { createLogger, fileSink, type Logger } from '../common/log.js';
import type { VmContext } from './context.js';
import { DEFAULT_ROOT } from './state.js';

export const VERSION = '0.1.0';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/**
 * Engines read the runtime's error from --log (containerd's runc shim takes
 * the last "error" entry of log.json), so it goes there as runc writes it.
 */
function reportToLog(o: { log?: string; logFormat: string }, msg: string): void {
  if (!o.log) return;
  const line = o.logFormat === 'json'
    ? JSON.stringify({ level: 'error', msg, time: new Date().toISOString() })
    : `time="${new Date().toISOString()}" level=error msg="${msg.replace(/"/g, '\\"')}"`;
  try { appendFileSync(o.log, `${line}\n`); } catch { /* the caller still has stderr */ }
}

export interface VmIo { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }

export async function main(argv: string[], env: Record<string, string | undefined>, io: VmIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let code = 0;
  const program = new Command('berth-vm');
  program
    .description('Berth OCI runtime whose containers run in lightweight VMs (runc command line)')
    .option('--debug', 'enable debug logging', false)
    .option('--log <path>', 'log file')
    .addOption(new Option('--log-format <format>', 'log format').choices(['text', 'json']).default('text'))
    .option('--root <path>', 'root directory for container state', DEFAULT_ROOT)
    .option('--systemd-cgroup', 'use systemd for cgroups', false)
    .option('--criu <path>', 'accepted for compatibility')
    .option('--rootless <value>', 'accepted for compatibility', 'auto')
    .version(`berth-vm version ${VERSION}\nspec: 1.2.0`, '-v, --version')
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({ writeOut: (t) => { io.stdout.write(t); }, writeErr: (t) => { io.stderr.write(t); } });
  const context = (): VmContext => {
    const o = program.opts<{ debug: boolean; log?: string; logFormat: 'text' | 'json'; root: string; systemdCgroup: boolean }>();
    const log: Logger = createLogger(o.log ? [fileSink(o.log, o.logFormat, o.debug ? 'debug' : 'info')] : [], { runtime: 'berth-vm' });
    const cwd = process.cwd();
    return { root: o.root.startsWith('/') ? o.root : `${cwd}/${o.root}`, systemdCgroup: o.systemdCgroup, cwd, log, stdout: io.stdout, stderr: io.stderr, env };
  };
  const act = <A extends unknown[]>(fn: (c: VmContext, ...a: A) => Promise<number>) =>
    async (...a: A): Promise<void> => { code = await fn(context(), ...a); };
  const cmds = () => import('./commands.js');

  const createFlags = (c: Command): Command => c.argument('<container-id>')
    .option('-b, --bundle <dir>', 'path to the bundle', '.')
    .option('--console-socket <path>', 'unix socket that receives the pty master')
    .option('--pid-file <path>', 'file to write the process id to')
    .option('--no-pivot', 'accepted for compatibility')
    .option('--no-new-keyring', 'accepted for compatibility')
    .option('--preserve-fds <n>', 'accepted for compatibility (not supported across the VM boundary)', '0');
  type CreateFlags = { bundle: string; consoleSocket?: string; pidFile?: string };

  createFlags(program.command('create').description('create a container in a new VM'))
    .action(act(async (c, id: string, o: CreateFlags) => { await (await import('./create.js')).createVm(c, id, o); return 0; }));
  createFlags(program.command('run').description('create and start a container in a new VM'))
    .option('-d, --detach', 'detach from the container', false)
    .option('--keep', 'do not delete the container after it exits', false)
    .option('--no-subreaper', 'accepted for compatibility')
    .action(act(async (c, id: string, o: CreateFlags & { detach: boolean; keep: boolean }) => (await cmds()).run(c, id, o)));
  program.command('start').argument('<container-id>').description('start a created container')
    .action(act(async (c, id: string) => (await cmds()).start(c, id)));
  program.command('state').argument('<container-id>').description('output the state of a container')
    .action(act(async (c, id: string) => (await cmds()).state(c, id)));
  program.command('kill').argument('<container-id>').argument('[signal]', 'signal', 'SIGTERM').description('signal the container process')
    .option('-a, --all', 'every process of the container', false)
    .action(act(async (c, id: string, sig: string, o: { all: boolean }) => (await cmds()).kill(c, id, sig, o.all)));
  program.command('delete').argument('<container-id>').description('delete a container and its VM')
    .option('-f, --force', 'stop the VM first if it runs', false)
    .action(act(async (c, id: string, o: { force: boolean }) => (await cmds()).remove(c, id, o.force)));
  program.command('list').description('list containers')
    .addOption(new Option('-f, --format <format>').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'ids only', false)
    .action(act(async (c, o: { format: 'table' | 'json'; quiet: boolean }) => (await cmds()).list(c, o.format, o.quiet)));
  program.command('ps').passThroughOptions().argument('<container-id>').argument('[ps-args...]')
    .addOption(new Option('-f, --format <format>').choices(['table', 'json']).default('table'))
    .action(act(async (c, id: string, psArgs: string[], o: { format: 'table' | 'json' }) => (await cmds()).ps(c, id, o.format, psArgs)));
  program.command('pause').argument('<container-id>').action(act(async (c, id: string) => (await cmds()).pause(c, id, true)));
  program.command('resume').argument('<container-id>').action(act(async (c, id: string) => (await cmds()).pause(c, id, false)));
  program.command('events').argument('<container-id>')
    .option('--stats', 'statistics once', false).option('--interval <d>', 'interval', '5s')
    .action(act(async (c, id: string, o: { stats: boolean }) => (await cmds()).events(c, id, o.stats)));
  program.command('exec').passThroughOptions().argument('<container-id>').argument('[command...]')
    .option('-p, --process <file>', 'process.json to run')
    .option('--console-socket <path>', 'unix socket that receives the pty master')
    .option('-t, --tty', 'allocate a pseudo-TTY', false)
    .option('-d, --detach', 'detach from the process', false)
    .option('--pid-file <path>', 'file to write the process id to')
    .option('-e, --env <NAME=value>', 'environment variable', collect, [])
    .option('--cwd <dir>', 'working directory')
    .option('-u, --user <uid[:gid]>', 'user')
    .option('-g, --additional-gids <gid>', 'additional gids', collect, [])
    .option('-c, --cap <cap>', 'accepted for compatibility', collect, [])
    .option('--apparmor <profile>', 'accepted for compatibility (the VM is the boundary)')
    .option('--process-label <label>', 'accepted for compatibility (the VM is the boundary)')
    .option('--no-new-privs', 'accepted for compatibility')
    .option('--preserve-fds <n>', 'accepted for compatibility', '0')
    .option('--cgroup <path>', 'accepted for compatibility')
    .option('--ignore-paused', 'accepted for compatibility', false)
    .action(act(async (c, id: string, command: string[], o: import('./exec.js').ExecOptions) => (await import('./exec.js')).execIn(c, id, command, o)));
  program.command('spec').description('write a default config.json')
    .option('-b, --bundle <dir>', 'bundle', '.').option('--rootless', 'rootless', false)
    .action(act(async (c, o: { bundle: string; rootless: boolean }) => (await import('./spec.js')).writeSpec(c, o.bundle, o.rootless)));
  program.command('features').description('what this runtime supports')
    .action(act(async (c) => (await import('./spec.js')).features(c)));
  program.command('update').description('update the host limits of a VM (cpu, block I/O); its memory is fixed at create').argument('<container-id>')
    .option('-r, --resources <file>', 'LinuxResources JSON file, "-" for stdin')
    .option('--memory <bytes>').option('--memory-swap <bytes>').option('--memory-reservation <bytes>')
    .option('--kernel-memory <bytes>', 'accepted for compatibility').option('--kernel-memory-tcp <bytes>', 'accepted for compatibility')
    .option('--cpu-share <n>', 'CPU shares (relative weight), runc\'s name').option('--cpu-shares <n>').option('--cpu-quota <n>').option('--cpu-period <n>').option('--cpu-burst <n>')
    .option('--cpu-rt-period <n>', 'accepted for compatibility').option('--cpu-rt-runtime <n>', 'accepted for compatibility')
    .option('--cpuset-cpus <list>').option('--cpuset-mems <list>')
    .option('--cpu-idle <n>', 'accepted for compatibility').option('--pids-limit <n>').option('--blkio-weight <n>')
    .option('--l3-cache-schema <s>', 'accepted for compatibility').option('--mem-bw-schema <s>', 'accepted for compatibility')
    .action(act(async (c, id: string, o: import('./update.js').UpdateFlags) => (await import('./update.js')).update(c, id, o)));
  for (const verb of ['checkpoint', 'restore']) {
    program.command(verb).allowUnknownOption().argument('[args...]').description('not supported')
      .action(() => { throw new BerthError('unavailable', `${verb} is not supported by berth-vm`); });
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    io.stderr.write(`berth-vm: ${describeSystemError(err)}\n`);
    reportToLog(program.opts<{ log?: string; logFormat: string }>(), describeSystemError(err));
    return err instanceof BerthError ? exitCodeOf(err) : 1;
  }
  return code;
}
