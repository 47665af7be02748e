/** `berth-ctr tasks start|ls|kill|rm|exec|attach|wait|pause|resume|metrics` and `berth-ctr run [-i]`. */
import { constants } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BerthError, invalidArgument, unavailable } from '../../common/errors.js';
import type { CoreAttachment } from '../../core/attachment.js';
import type { Container, Process } from '../../core/api/types.js';
import type { CoreClient } from '../../core/client.js';
import { LogTail } from '../logtail.js';
import { table, timeText } from '../output.js';
import { containerSpec } from './containers.js';

type Out = (s: string) => void;
const errOut: Out = (s) => { process.stderr.write(s); };

/** A signal by number or name (9, KILL, SIGKILL). */
export function parseSignal(v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const name = (v.toUpperCase().startsWith('SIG') ? v.toUpperCase() : `SIG${v.toUpperCase()}`) as keyof typeof constants.signals;
  const n = constants.signals[name];
  if (n === undefined) throw invalidArgument(`invalid signal ${JSON.stringify(v)}`);
  return n;
}

/** Waits for the task (or exec) while printing its log; returns its exit status. */
async function waitPrinting(c: CoreClient, id: string, execId: string, out: Out): Promise<number> {
  const { process: p } = await c.tasks.State({ containerId: id, execId });
  const tail = new LogTail(p!.stdout, out, errOut).follow();
  try {
    return (await c.tasks.Wait({ containerId: id, execId })).exitStatus;
  } finally {
    tail.stop();
  }
}

async function startTask(c: CoreClient, id: string, detach: boolean, out: Out): Promise<number> {
  const { pid } = await c.tasks.Create({ containerId: id });
  if (detach) { await c.tasks.Start({ containerId: id }); out(`${pid}\n`); return 0; }
  const { process: p } = await c.tasks.State({ containerId: id, execId: '' });
  const tail = new LogTail(p!.stdout, out, errOut).follow();
  try {
    await c.tasks.Start({ containerId: id });
    return (await c.tasks.Wait({ containerId: id })).exitStatus;
  } finally {
    tail.stop();
  }
}

/**
 * Relays this process's stdin to an attached process (closing its stdin at
 * EOF) and its output to stdout/stderr; returns its exit status. Without
 * `input` only output is relayed.
 */
async function relayAttached(a: CoreAttachment, input: boolean, out: Out): Promise<number> {
  if (input) {
    const feed = async (): Promise<void> => {
      for await (const chunk of process.stdin) await a.write(chunk as Buffer);
      await a.closeStdin();
    };
    feed().catch((err: unknown) => { errOut(`berth-ctr: stdin: ${(err as Error).message}\n`); });
  }
  for await (const c of a) (c.stream === 'stderr' ? errOut : out)(c.data.toString('utf8'));
  const exit = await a.exit;
  if (input) process.stdin.destroy();
  if (!exit) throw unavailable('the attach ended before the process exited');
  return exit.status;
}

/** Attaches with stdin when the process has one, else to its output only. */
async function attachTask(c: CoreClient, id: string, execId: string, out: Out): Promise<number> {
  let a: CoreAttachment;
  let input = true;
  try {
    a = await c.attach({ containerId: id, execId, stdin: true });
  } catch (err) {
    if (!(err instanceof BerthError && err.kind === 'failed-precondition' && /stdin/.test(err.message))) throw err;
    input = false;
    a = await c.attach({ containerId: id, execId });
  }
  return relayAttached(a, input, out);
}

/** `run -i`: the task gets a stdin pipe, attached before it starts so no output is missed. */
async function runInteractive(c: CoreClient, id: string, out: Out): Promise<number> {
  await c.tasks.Create({ containerId: id, stdin: 'attach' });
  const a = await c.attach({ containerId: id, stdin: true });
  await c.tasks.Start({ containerId: id });
  return relayAttached(a, true, out);
}

/** Deletes the task; with force the core kills a live one (SIGKILL) and waits for it first. */
async function removeTask(c: CoreClient, id: string, force: boolean): Promise<void> {
  await c.tasks.Delete({ containerId: id, force });
}

/**
 * A row of `tasks ls`: the exit code once stopped, and why (the failed
 * reason, "oom-killed"), or what ails a live task (its log cannot be written).
 */
export function taskRow(t: Process): string[] {
  const reason = [t.oomKilled ? 'oom-killed' : '', t.reason].filter((r) => r !== '').join('; ');
  return [t.containerId, String(t.pid), t.status, t.status === 'STOPPED' ? String(t.exitStatus) : '', timeText(t.exitedAt), reason];
}

export function tasksCommand(program: Command, client: () => CoreClient, out: Out): void {
  const ts = program.command('tasks').alias('task').alias('t').description('manage tasks (the running side of containers)');
  ts.command('start <id>').description('create and start the task of a container; waits and prints its output unless -d')
    .option('-d, --detach', 'return once started, printing the pid')
    .action(async (id: string, opts: { detach?: boolean }) => { process.exitCode = await startTask(client(), id, opts.detach ?? false, out); });
  ts.command('ls').alias('list').description('list tasks')
    .action(async () => {
      const { tasks } = await client().tasks.List({});
      out(table([['TASK', 'PID', 'STATUS', 'EXIT', 'EXITED', 'REASON'], ...tasks.map(taskRow)]));
    });
  ts.command('kill <id>').description('signal a task (SIGTERM by default)')
    .option('-s, --signal <sig>', 'signal, by number or name', 'SIGTERM')
    .option('-a, --all', 'every process of the container')
    .option('--exec-id <id>', 'signal this exec process instead')
    .action(async (id: string, opts: { signal: string; all?: boolean; execId?: string }) => {
      await client().tasks.Kill({ containerId: id, execId: opts.execId ?? '', signal: parseSignal(opts.signal), all: opts.all ?? false });
    });
  ts.command('rm <ids...>').alias('delete').description('delete stopped tasks, printing each exit status')
    .option('-f, --force', 'kill a running task first')
    .action(async (ids: string[], opts: { force?: boolean }) => {
      for (const id of ids) { await removeTask(client(), id, opts.force ?? false); out(`${id}\n`); }
    });
  ts.command('exec <id> <args...>').description('run args (after --) in a running task; prints its output, exits with its status')
    .requiredOption('--exec-id <id>', 'id of the exec process')
    .option('--env <k=v>', 'environment variable (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--cwd <dir>', 'working directory', '/')
    .action(async (id: string, args: string[], opts: { execId: string; env: string[]; cwd: string }) => {
      const c = client();
      const { container } = await c.containers.Get({ id });
      const base = (JSON.parse(container!.spec.toString('utf8')) as { process?: Record<string, unknown> }).process ?? {};
      const env = [...((base.env as string[] | undefined) ?? []), ...opts.env];
      const proc = { ...base, args, env, cwd: opts.cwd, terminal: false };
      await c.tasks.Exec({ containerId: id, execId: opts.execId, spec: Buffer.from(JSON.stringify(proc)) });
      await c.tasks.Start({ containerId: id, execId: opts.execId });
      process.exitCode = await waitPrinting(c, id, opts.execId, out);
      await c.tasks.DeleteProcess({ containerId: id, execId: opts.execId });
    });
  ts.command('attach <id>').description('relay stdin (when the process has one) and output of a running task; exits with its status')
    .option('--exec-id <id>', 'attach to this exec process instead')
    .action(async (id: string, opts: { execId?: string }) => { process.exitCode = await attachTask(client(), id, opts.execId ?? '', out); });
  ts.command('wait <id>').description('wait for a task to exit and print its exit status')
    .action(async (id: string) => { out(`${(await client().tasks.Wait({ containerId: id })).exitStatus}\n`); });
  ts.command('pause <id>').description('freeze a task').action(async (id: string) => { await client().tasks.Pause({ containerId: id }); });
  ts.command('resume <id>').description('thaw a task').action(async (id: string) => { await client().tasks.Resume({ containerId: id }); });
  ts.command('metrics <id>').description('print the cgroup statistics of a task as JSON')
    .action(async (id: string) => {
      const { metrics } = await client().tasks.Metrics({ filters: [`id==${id}`] });
      for (const m of metrics) out(m.data.toString('utf8') + '\n');
    });

  program.command('run <id> <args...>').description('create a container and its task from a rootfs directory, run args (after --) and print the output')
    .requiredOption('--rootfs <dir>', 'root filesystem directory')
    .option('--runtime <name>', 'runtime name from the core\'s table')
    .option('--rm', 'delete the task and the container when it exits')
    .option('-d, --detach', 'return once started, printing the pid')
    .option('-i, --interactive', 'give the task a stdin fed from this one (closed at its end), output relayed by attach')
    .action(async (id: string, args: string[], opts: { rootfs: string; runtime?: string; rm?: boolean; detach?: boolean; interactive?: boolean }) => {
      const c = client();
      const rootfs = resolve(opts.rootfs);
      await c.containers.Create({
        container: { id, image: '', spec: containerSpec(id, rootfs, args, {}), runtime: { name: opts.runtime ?? '', options: Buffer.alloc(0) },
          rootfs, snapshotKey: '', snapshotter: '', labels: {}, createdAt: null, updatedAt: null } as Container,
      });
      try {
        process.exitCode = opts.interactive && !opts.detach ? await runInteractive(c, id, out) : await startTask(c, id, opts.detach ?? false, out);
      } catch (err) {
        if (opts.rm) await c.containers.Delete({ id }).catch(() => { /* report the first error */ });
        throw err;
      }
      if (opts.rm && !opts.detach) {
        await c.tasks.Delete({ containerId: id });
        await c.containers.Delete({ id });
      }
    });
}
