/**
 * `exec`: another process in the container's VM. The relay (berth-vm-keeper
 * --exec) carries its stdio; with --detach it outlives this command and its
 * pid goes to --pid-file, so the caller's shim reaps the exec's exit code
 * from it as it would a runc exec'd process.
 */
import { spawn } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { failedPrecondition, invalidArgument } from '../common/errors.js';
import type { Process } from '../runtime/spec/types.js';
import { loadVmConfig } from './config.js';
import { callerPath, type VmContext } from './context.js';
import { processPairs } from './messages.js';
import { encodePairs } from './protocol.js';
import { paths } from './qemu.js';
import { statusOf, storeOf } from './commands.js';

export interface ExecOptions {
  process?: string;
  consoleSocket?: string;
  tty: boolean;
  detach: boolean;
  pidFile?: string;
  env: string[];
  cwd?: string;
  user?: string;
  additionalGids?: string[];
}

function withGids(user: Process['user'], gids: string[]): Process['user'] {
  if (gids.length === 0) return user;
  const extra = gids.map((g) => {
    const n = Number(g);
    if (!Number.isInteger(n) || n < 0) throw invalidArgument(`invalid value "${g}" for --additional-gids`);
    return n;
  });
  return { ...user, additionalGids: [...(user.additionalGids ?? []), ...extra] };
}

function processOf(ctx: VmContext, base: Process, command: string[], o: ExecOptions): Process {
  if (o.process) return JSON.parse(readFileSync(callerPath(ctx, o.process), 'utf8')) as Process;
  if (command.length === 0) throw invalidArgument('exec needs a command or --process');
  const [uid, gid] = (o.user ?? '').split(':');
  return {
    ...base,
    args: command,
    env: [...(base.env ?? []), ...o.env],
    cwd: o.cwd ?? base.cwd,
    terminal: o.tty,
    user: withGids(o.user ? { uid: Number(uid), gid: Number(gid ?? 0) } : base.user, o.additionalGids ?? []),
  };
}

export async function execIn(ctx: VmContext, id: string, command: string[], o: ExecOptions): Promise<number> {
  const store = storeOf(ctx);
  const rec = store.load(id);
  const status = await statusOf(ctx, rec);
  if (status !== 'running') throw failedPrecondition(`cannot exec in container ${id}: container is ${status}`);
  const proc = processOf(ctx, rec.config.process ?? { cwd: '/', user: { uid: 0, gid: 0 } }, command, o);
  if (proc.terminal && !o.consoleSocket) throw invalidArgument(`cannot exec in container ${id}: terminal requires --console-socket`);
  const msg = join(store.dir(id), `exec-${process.pid}-${Date.now()}.msg`);
  writeFileSync(msg, encodePairs(processPairs(proc)), { mode: 0o600 });
  const cfg = loadVmConfig(ctx.env);
  const args = ['--exec', paths(store.dir(id)).controlSocket, msg];
  if (proc.terminal && o.consoleSocket) args.push(resolve(callerPath(ctx, o.consoleSocket)));
  const child = spawn(cfg.keeper, args, { detached: o.detach, stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
  const exit = new Promise<number>((r) => child.on('exit', (code, sig) => r(code ?? 128 + (sig ? constants.signals[sig] : 9))));
  let line = '';
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  pipe.setEncoding('utf8');
  pipe.on('data', (d: string) => { line += d; });
  await new Promise<void>((r) => { pipe.on('end', () => r()); pipe.on('close', () => r()); });
  try { unlinkSync(msg); } catch { /* the relay has read it */ }
  const [word, ...rest] = line.trim().split(' ');
  if (word !== 'ok') throw failedPrecondition(`cannot exec in container ${id}: ${word === 'error' ? rest.join(' ') : 'the relay exited'}`);
  if (o.pidFile && child.pid) writeFileSync(resolve(callerPath(ctx, o.pidFile)), String(child.pid));
  if (o.detach) { child.unref(); return 0; }
  return exit;
}
