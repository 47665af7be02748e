/**
 * `exec`: run another process in a running container, in its namespaces and
 * cgroup. The process comes from --process (an OCI process JSON) or from the
 * arguments plus flags over the container's own process settings.
 */
import { readFileSync } from 'node:fs';
import type { CommandContext } from './context.js';
import { callerPath } from './context.js';
import type { ExecFlags } from '../cli/parse.js';
import { cgroupOf, currentStatus, storeOf } from '../lifecycle.js';
import { buildExecPlan } from '../plan/exec.js';
import { errnoText, exitCodeOfStatus, ExecutorError } from '../planner/conversation.js';
import { canonicalCapability } from '../spec/capabilities.js';
import type { Process } from '../spec/types.js';
import { validateProcess } from '../spec/validate.js';
import { parseJson } from '../spec/json.js';
import { failedPrecondition, invalidArgument, wrap } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import { sandboxSection, sharesHostPidNamespace } from '../../sandbox/index.js';

function parseUser(u: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(u);
  if (!m) throw invalidArgument(`invalid --user "${u}": use UID[:GID] with numbers`);
  return { uid: Number(m[1]), gid: m[2] === undefined ? 0 : Number(m[2]) };
}

function processFromFlags(base: Process | undefined, command: string[], f: ExecFlags): Process {
  if (command.length === 0) throw invalidArgument('exec: give a command or --process');
  const caps = structuredClone(base?.capabilities ?? {});
  for (const c of f.cap) {
    const name = canonicalCapability(c);
    if (!name) throw invalidArgument(`exec: unknown capability "${c}"`);
    for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) {
      const list = (caps[set] ??= []);
      if (!list.includes(name)) list.push(name);
    }
  }
  const user = f.user ? { ...parseUser(f.user) } : { uid: base?.user?.uid ?? 0, gid: base?.user?.gid ?? 0 };
  const additionalGids = f.additionalGids.length ? f.additionalGids.map(Number) : base?.user?.additionalGids;
  return {
    ...(base ?? {}),
    terminal: f.tty,
    args: command,
    env: [...(base?.env ?? []), ...f.env],
    cwd: f.cwd ?? base?.cwd ?? '/',
    user: { ...user, additionalGids, umask: base?.user?.umask },
    capabilities: caps,
    noNewPrivileges: f.newPrivs === false ? true : base?.noNewPrivileges,
    apparmorProfile: f.apparmor ?? base?.apparmorProfile,
    selinuxLabel: f.processLabel ?? base?.selinuxLabel,
    consoleSize: undefined,
  } as Process;
}

export async function run(ctx: CommandContext, id: string, command: string[], f: ExecFlags): Promise<number> {
  const store = storeOf(ctx);
  const rec = store.load(id);
  const status = currentStatus(store, rec, ctx.log);
  if (status === 'stopped') throw failedPrecondition(`cannot exec in a stopped container ${id}`);
  if (status === 'paused' && !f.ignorePaused) throw failedPrecondition(`cannot exec in a paused container ${id}`);
  let proc: Process;
  if (f.process) {
    let raw: unknown;
    try { raw = parseJson(readFileSync(callerPath(ctx, f.process), 'utf8')); } catch (err) {
      throw invalidArgument(`--process ${f.process}: ${(err as Error).message}`);
    }
    const v = validateProcess(raw, f.process);
    for (const w of v.warnings) ctx.log.warn(w);
    proc = v.process;
  } else {
    proc = processFromFlags(rec.config.process, command, f);
  }
  if (proc.terminal && f.detach && !f.consoleSocket) throw invalidArgument('cannot allocate tty if the runtime will detach without setting console socket');
  const plan = buildExecPlan({
    spec: rec.config, initPid: rec.pid, bundle: rec.bundle, process: proc, consoleSocket: f.consoleSocket ? callerPath(ctx, f.consoleSocket) : undefined,
    preserveFds: f.preserveFds, log: ctx.log, id,
  });
  // a sandboxed container's processes all run under a supervisor, whichever front execs them
  plan.push(...sandboxSection(rec.runtime || ctx.program, store.dir(id), ctx.callerEnv, sharesHostPidNamespace(rec.config.linux?.namespaces)));
  let pid = 0;
  try {
    pid = await ctx.front.execute(plan);
    cgroupOf(rec, ctx.log)?.addProcess(pid);
    const ev = await ctx.front.resume();
    if (ev.kind === 'failed') { pid = 0; throw new ExecutorError(ev.step, ev.errno, ev.message || errnoText(ev.errno)); }
  } catch (err) {
    if (pid) await ctx.front.abortChild();
    throw wrap(`cannot exec in container ${id}`, err);
  }
  if (f.pidFile) writeFileAtomic(callerPath(ctx, f.pidFile), String(pid), 0o644, false);
  if (f.detach) return 0;
  return exitCodeOfStatus(await ctx.front.waitChild());
}
