/**
 * `create`, `run`, `attach`, `exec` and `start -a`: the commands that create
 * containers or stream their stdio over hijacked connections, with docker's
 * exit codes (125 daemon error, 126 cannot invoke, 127 not found; otherwise
 * the container's own code).
 */
import { DaemonError } from '../client.js';
import { CliError, describe, help, type CliContext, type CommandSpec } from '../command.js';
import { buildCreateRequest, CREATE_FLAGS, type CreateRequest } from '../runflags.js';
import { pump, terminalSize } from '../streams.js';
import { pullImage } from './images.js';

const enc = encodeURIComponent;

/** docker run's exit code for an error starting the container: 127 not found, 126 cannot invoke, else 125. */
export function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(message)) return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return 125;
}

/** A `run`/`create` error in docker's words: prefixed, with the help hint, exit 125 unless told. */
export function runError(cmd: string, e: unknown, code = 125): CliError {
  return new CliError(`berth: ${describe(e)}\n\nRun 'berth ${cmd} --help' for more information`, code);
}

async function createContainer(ctx: CliContext, req: CreateRequest, cmd: string): Promise<string> {
  const query = { name: req.name, platform: req.platform };
  const create = (): Promise<{ Id: string; Warnings?: string[] | null }> => ctx.client().json('POST', '/containers/create', { query, body: req.body });
  try {
    if (req.pull === 'always') await pullImage(ctx, req.body.Image, req.platform, false, true);
    let r: { Id: string; Warnings?: string[] | null };
    try {
      r = await create();
    } catch (e) {
      if (!(e instanceof DaemonError && e.status === 404 && /image/i.test(e.message)) || req.pull === 'never') throw e;
      ctx.err(`Unable to find image '${req.body.Image}' locally\n`);
      await pullImage(ctx, req.body.Image, req.platform, false, true);
      r = await create();
    }
    for (const w of r.Warnings ?? []) ctx.err(`WARNING: ${w}\n`);
    return r.Id;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw runError(cmd, e);
  }
}

/** Starts the container attached: streams until it ends, then its exit code. */
async function runAttached(ctx: CliContext, id: string, req: CreateRequest, sigProxy: boolean): Promise<number> {
  const b = req.body;
  const conn = await ctx.client().hijack('POST', `/containers/${enc(id)}/attach`, {
    query: { stream: 1, stdin: b.AttachStdin ? 1 : undefined, stdout: b.AttachStdout ? 1 : undefined, stderr: b.AttachStderr ? 1 : undefined },
  });
  // ask for the exit before starting, so a fast container cannot be missed (or removed first)
  const condition = b.HostConfig.AutoRemove ? 'removed' : 'next-exit';
  const waited = ctx.client().json<{ StatusCode: number; Error?: { Message?: string } | null }>('POST', `/containers/${enc(id)}/wait`, { query: { condition } });
  waited.catch(() => { /* reported below */ });
  const streamed = pump(conn, { tty: b.Tty, stdin: b.AttachStdin });
  try {
    await ctx.client().call('POST', `/containers/${enc(id)}/start`);
  } catch (e) {
    conn.destroy();
    throw runError('run', e, startFailureCode(e instanceof Error ? e.message : ''));
  }
  const size = terminalSize();
  if (b.Tty && size) await ctx.client().call('POST', `/containers/${enc(id)}/resize`, { query: size }).catch(() => undefined);
  const forward = (sig: NodeJS.Signals): void => { void ctx.client().call('POST', `/containers/${enc(id)}/kill`, { query: { signal: sig } }).catch(() => undefined); };
  if (sigProxy && !b.Tty) { process.on('SIGINT', forward); process.on('SIGTERM', forward); }
  try {
    await streamed;
    const r = await waited;
    if (r.Error?.Message) throw new CliError(`berth: ${r.Error.Message}`, 125);
    return r.StatusCode;
  } finally {
    process.off('SIGINT', forward); process.off('SIGTERM', forward);
  }
}

const create: CommandSpec = {
  names: ['create', 'container create'], usage: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Create a new container',
  flags: [...CREATE_FLAGS, help()], interspersed: false, minArgs: 1,
  async run(ctx, o) {
    const req = buildCreateRequest(o, ctx.env);
    ctx.out(`${await createContainer(ctx, req, 'create')}\n`);
    return 0;
  },
};

const run: CommandSpec = {
  names: ['run', 'container run'], usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Create and run a new container from an image',
  flags: [...CREATE_FLAGS, help()], interspersed: false, minArgs: 1,
  async run(ctx, o) {
    const req = buildCreateRequest(o, ctx.env);
    if (o.bool('tty') && o.bool('interactive') && !process.stdin.isTTY) throw new CliError('the input device is not a TTY', 1);
    const id = await createContainer(ctx, req, 'run');
    if (o.bool('detach')) {
      try { await ctx.client().call('POST', `/containers/${enc(id)}/start`); } catch (e) {
        throw runError('run', e, startFailureCode(e instanceof Error ? e.message : ''));
      }
      ctx.out(`${id}\n`);
      return 0;
    }
    return runAttached(ctx, id, req, o.bool('sig-proxy'));
  },
};

/** `start -a [-i]`: attach to a created container, start it, stream until it ends. */
export async function attachAndStart(ctx: CliContext, name: string, stdin: boolean): Promise<number> {
  const c = await ctx.client().json<{ Id: string; Config: { Tty: boolean; OpenStdin: boolean }; HostConfig: { AutoRemove: boolean } }>('GET', `/containers/${enc(name)}/json`);
  const req = { pull: 'never', body: { AttachStdin: stdin && c.Config.OpenStdin, AttachStdout: true, AttachStderr: true, Tty: c.Config.Tty, HostConfig: { AutoRemove: c.HostConfig.AutoRemove } } } as unknown as CreateRequest;
  return runAttached(ctx, c.Id, req, true);
}

const attach: CommandSpec = {
  names: ['attach', 'container attach'], usage: 'attach [OPTIONS] CONTAINER', summary: 'Attach local standard input, output, and error streams to a running container',
  minArgs: 1, maxArgs: 1,
  flags: [{ name: 'no-stdin', type: 'bool' }, { name: 'sig-proxy', type: 'bool', def: true }, { name: 'detach-keys', type: 'string' }, help()],
  async run(ctx, o) {
    const c = await ctx.client().json<{ Id: string; State: { Running: boolean; Paused: boolean }; Config: { Tty: boolean; OpenStdin: boolean } }>('GET', `/containers/${enc(o.args[0]!)}/json`);
    if (!c.State.Running) throw new CliError('You cannot attach to a stopped container, start it first');
    if (c.State.Paused) throw new CliError('You cannot attach to a paused container, unpause it first');
    const stdin = c.Config.OpenStdin && !o.bool('no-stdin');
    const conn = await ctx.client().hijack('POST', `/containers/${enc(c.Id)}/attach`, { query: { stream: 1, stdin: stdin ? 1 : undefined, stdout: 1, stderr: 1 } });
    const size = terminalSize();
    if (c.Config.Tty && size) await ctx.client().call('POST', `/containers/${enc(c.Id)}/resize`, { query: size }).catch(() => undefined);
    await pump(conn, { tty: c.Config.Tty, stdin });
    const r = await ctx.client().json<{ State: { ExitCode: number; Running: boolean } }>('GET', `/containers/${enc(c.Id)}/json`);
    return r.State.Running ? 0 : r.State.ExitCode;
  },
};

const exec: CommandSpec = {
  names: ['exec', 'container exec'], usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]', summary: 'Execute a command in a running container',
  minArgs: 2, interspersed: false,
  flags: [
    { name: 'detach', short: 'd', type: 'bool' }, { name: 'interactive', short: 'i', type: 'bool' }, { name: 'tty', short: 't', type: 'bool' },
    { name: 'env', short: 'e', type: 'list' }, { name: 'env-file', type: 'list' }, { name: 'user', short: 'u', type: 'string' },
    { name: 'workdir', short: 'w', type: 'string' }, { name: 'privileged', type: 'bool' }, { name: 'detach-keys', type: 'string' }, help(),
  ],
  async run(ctx, o) {
    const [name, ...cmd] = o.args;
    const detach = o.bool('detach');
    const tty = o.bool('tty');
    const stdin = o.bool('interactive') && !detach;
    const env = o.list('env').map((e) => (e.includes('=') || ctx.env[e] === undefined ? e : `${e}=${ctx.env[e]}`));
    const body = {
      User: o.str('user'), Privileged: o.bool('privileged'), Tty: tty, AttachStdin: stdin, AttachStderr: !detach, AttachStdout: !detach,
      Detach: detach, DetachKeys: o.str('detach-keys'), Env: env.length > 0 ? env : null, WorkingDir: o.str('workdir'), Cmd: cmd,
    };
    const { Id } = await ctx.client().json<{ Id: string }>('POST', `/containers/${enc(name!)}/exec`, { body });
    if (detach) {
      await ctx.client().call('POST', `/exec/${Id}/start`, { body: { Detach: true, Tty: tty } });
      return 0;
    }
    const conn = await ctx.client().hijack('POST', `/exec/${Id}/start`, { body: { Detach: false, Tty: tty } });
    const size = terminalSize();
    if (tty && size) await ctx.client().call('POST', `/exec/${Id}/resize`, { query: size }).catch(() => undefined);
    await pump(conn, { tty, stdin });
    const r = await ctx.client().json<{ ExitCode: number | null; Running: boolean }>('GET', `/exec/${Id}/json`);
    return r.ExitCode ?? 0;
  },
};

export const runCommands: CommandSpec[] = [create, run, attach, exec];
