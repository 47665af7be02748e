/**
 * The container lifecycle of the runtime-spec (runtime.md "Lifecycle"):
 * create leaves the init waiting on the exec fifo, start releases it, the
 * init's exit leaves a stopped container until delete removes the cgroup
 * and the state. Commands are thin wrappers around these steps.
 */
import { existsSync, openSync, closeSync, readSync, realpathSync, statSync, unlinkSync, writeFileSync, constants as fsc } from 'node:fs';
import { resolve } from 'node:path';
import { BerthError, failedPrecondition, invalidArgument, wrap } from '../common/errors.js';
import { writeFileAtomic } from '../common/fs.js';
import { native } from '../common/native.js';
import type { Logger } from '../common/log.js';
import { openCgroup, fromPaths, type CgroupManager, type LinuxResources } from './cgroups/index.js';
import { callerPath, type CommandContext } from './commands/context.js';
import { runHooks } from './hooks.js';
import { buildInitPlan } from './plan/init.js';
import { DEFAULT_DEVICE_RULES } from './plan/devices.js';
import { errnoText, ExecutorError } from './planner/conversation.js';
import { isAlive, procStat, waitGone } from './procfs.js';
import { loadSpec } from './spec/load.js';
import type { Spec } from './spec/types.js';
import { ociState, statusOf, StateStore, type ContainerRecord, type Status } from './state.js';
import { OCI_VERSION } from './version.js';
import type { CreateOptions } from './cli/parse.js';
import { sandboxSection, sharesHostPidNamespace } from '../sandbox/index.js';

export function storeOf(ctx: CommandContext): StateStore {
  return new StateStore(ctx.globals.root);
}

export function cgroupOf(rec: ContainerRecord, log: Logger): CgroupManager | undefined {
  return rec.cgroup ? fromPaths(rec.cgroup.paths, log) : undefined;
}

/** Status of a container now (paused is asked of its cgroup). */
export function currentStatus(store: StateStore, rec: ContainerRecord, log: Logger): Status {
  return statusOf(rec, store, () => {
    try { return cgroupOf(rec, log)?.isFrozen() ?? false; } catch { return false; }
  });
}

/** The OCI state given to hooks. */
export function hookState(rec: ContainerRecord, status: Status): Record<string, unknown> {
  const s = ociState(rec, status);
  return { ociVersion: s.ociVersion, id: s.id, status: s.status, pid: status === 'stopped' ? undefined : rec.pid, bundle: s.bundle, annotations: s.annotations };
}

function mkfifo(path: string): void {
  try { native().mkfifo(path, 0o622); } catch (err) { throw wrap(`cannot create exec fifo ${path}`, err); }
}

function writeIdMaps(pid: number, spec: Spec): void {
  const render = (maps: readonly { containerID: number; hostID: number; size: number }[] | undefined): string =>
    (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
  const uid = render(spec.linux?.uidMappings);
  const gid = render(spec.linux?.gidMappings);
  try {
    if (uid) writeFileSync(`/proc/${pid}/uid_map`, uid);
    if (gid) writeFileSync(`/proc/${pid}/gid_map`, gid);
  } catch (err) {
    throw wrap('cannot write uid/gid mappings', err);
  }
}

function resourcesWithDevices(spec: Spec): LinuxResources {
  const res = { ...(spec.linux?.resources ?? {}) } as LinuxResources;
  const rules = [...(res.devices ?? [])];
  rules.push(...DEFAULT_DEVICE_RULES.map((r) => ({ ...r })));
  for (const d of spec.linux?.devices ?? []) {
    rules.push({ allow: true, type: d.type, major: Number(d.major ?? 0), minor: Number(d.minor ?? 0), access: 'rwm' });
  }
  return { ...res, devices: rules } as LinuxResources;
}

function rootfsOf(bundle: string, spec: Spec): string {
  const p = spec.root?.path;
  if (!p) throw invalidArgument('config.json: root.path: required');
  const abs = resolve(bundle, p);
  let st;
  try { st = statSync(abs); } catch {
    throw invalidArgument(`rootfs ${abs} does not exist (root.path "${p}" in ${bundle}/config.json)`);
  }
  if (!st.isDirectory()) throw invalidArgument(`rootfs ${abs} is not a directory`);
  return realpathSync(abs);
}

/**
 * Creates a container: on success its init waits on the exec fifo; on any
 * failure nothing is left (cgroup, state directory, process).
 */
export async function createContainer(ctx: CommandContext, id: string, opts: CreateOptions, detach: boolean): Promise<ContainerRecord> {
  const store = storeOf(ctx);
  if (ctx.globals.systemdCgroup) throw invalidArgument('systemd cgroup driver is not supported yet: run without --systemd-cgroup');
  let bundle: string;
  try { bundle = realpathSync(callerPath(ctx, opts.bundle)); } catch {
    throw invalidArgument(`bundle ${callerPath(ctx, opts.bundle)} does not exist`);
  }
  const spec = loadSpec(bundle, { onWarning: (w) => ctx.log.warn(w) });
  const rootfs = rootfsOf(bundle, spec);
  const terminal = Boolean(spec.process?.terminal);
  if (terminal && detach && !opts.consoleSocket) {
    throw invalidArgument('cannot allocate tty if the runtime will detach without setting console socket');
  }
  if (!terminal && opts.consoleSocket) throw invalidArgument('cannot use console socket if the runtime will not allocate tty');

  store.reserve(id);
  const undo: (() => void)[] = [() => store.remove(id)];
  let childPid = 0;
  let ready = false;
  try {
    const fifo = store.fifoPath(id);
    mkfifo(fifo);
    // BERTH_CGROUP_ROOT points the runtime at another cgroup mount, e.g. the
    // cgroup2 of a hybrid host, so the v2 driver can be used (and tested) there.
    const cg = openCgroup({
      cgroupsPath: spec.linux?.cgroupsPath, id, systemd: false, callerPid: ctx.callerPid, log: ctx.log,
      root: ctx.callerEnv.BERTH_CGROUP_ROOT || undefined,
    });
    undo.push(() => { try { cg.destroy({ killProcesses: true }); } catch (e) { ctx.log.warn(`cannot remove cgroup of ${id}: ${(e as Error).message}`); } });
    cg.create();
    cg.apply(resourcesWithDevices(spec));

    const rec: ContainerRecord = {
      ociVersion: spec.ociVersion ?? OCI_VERSION, id, pid: 0, initStartTime: 0, bundle, rootfs,
      created: new Date().toISOString(), owner: '', annotations: (spec.annotations ?? {}) as Record<string, string>,
      cgroup: { version: cg.version, paths: cg.paths }, config: spec, runtime: ctx.program,
    };
    const plan = buildInitPlan({
      id, spec, bundle, rootfs, fifoPath: fifo, consoleSocket: opts.consoleSocket ? callerPath(ctx, opts.consoleSocket) : undefined,
      noPivot: opts.noPivot, noNewKeyring: opts.noNewKeyring, preserveFds: opts.preserveFds, cgroup: rec.cgroup,
      hookState: JSON.stringify({ ...hookState(rec, 'created'), pid: 0 }).replace('"pid":0', '"pid":@PID@'), log: ctx.log,
    });
    plan.push(...sandboxSection(ctx.program, store.dir(id), ctx.callerEnv, sharesHostPidNamespace(spec.linux?.namespaces)));
    childPid = await ctx.front.execute(plan);
    if (spec.linux?.namespaces?.some((n) => n.type === 'user' && !n.path)) writeIdMaps(childPid, spec);
    cg.addProcess(childPid);
    rec.pid = childPid;
    for (;;) {
      const ev = await ctx.front.resume();
      if (ev.kind === 'failed') { childPid = 0; throw new ExecutorError(ev.step, ev.errno, ev.message || errnoText(ev.errno)); }
      if (ev.kind === 'ready') break;
      const state = hookState(rec, 'creating');
      await runHooks('prestart', spec.hooks?.prestart, state);
      await runHooks('createRuntime', spec.hooks?.createRuntime, state);
      await runHooks('createContainer', spec.hooks?.createContainer, state, { mountNsOf: childPid });
    }
    ready = true;
    rec.initStartTime = procStat(childPid)?.startTime ?? 0;
    store.save(rec);
    if (opts.pidFile) writeFileAtomic(callerPath(ctx, opts.pidFile), String(childPid), 0o644, false);
    return rec;
  } catch (err) {
    if (childPid && !ready) await ctx.front.abortChild();
    for (const u of undo.reverse()) u();
    throw wrap(`cannot create container ${id}`, err);
  }
}

/** Releases a created container's init through the exec fifo. */
export async function startContainer(ctx: CommandContext, id: string): Promise<void> {
  const store = storeOf(ctx);
  const rec = store.load(id);
  const status = currentStatus(store, rec, ctx.log);
  if (status !== 'created') throw failedPrecondition(`cannot start container ${id}: it is ${status}, not created`);
  const fifo = store.fifoPath(id);
  // O_NONBLOCK: never hang on a fifo whose writer died; poll for the byte instead.
  let fd: number;
  try { fd = openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK); } catch (err) { throw wrap(`cannot start container ${id}`, err); }
  try {
    const buf = Buffer.alloc(1);
    const deadline = Date.now() + 10_000;
    for (;;) {
      let n = 0;
      try { n = readSync(fd, buf, 0, 1, null); } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
      if (n === 1) break;
      // A process that runs very briefly can write its byte, exec and exit
      // between the read above and this check: read once more before
      // declaring that the init died without starting.
      if (!isAlive(rec.pid, rec.initStartTime)) {
        if (readOnce(fd, buf) === 1) break;
        throw failedPrecondition(`cannot start container ${id}: its init process exited`);
      }
      if (Date.now() > deadline) throw new BerthError('internal', `cannot start container ${id}: init did not open the exec fifo`);
      await new Promise((r) => setTimeout(r, 1));
    }
    unlinkSync(fifo);
    // The init keeps its end open until it execs the user's process (after the
    // startContainer hooks): EOF means the process runs, and poststart may go.
    if (rec.config.hooks?.poststart?.length) await waitForEof(fd, rec);
  } finally {
    closeSync(fd);
  }
  try {
    await runHooks('poststart', rec.config.hooks?.poststart, hookState(rec, 'running'));
  } catch (err) {
    // runtime-spec: a poststart failure is logged and the lifecycle goes on
    ctx.log.warn((err as Error).message);
  }
}

function readOnce(fd: number, buf: Buffer): number {
  try { return readSync(fd, buf, 0, 1, null); } catch { return 0; }
}

async function waitForEof(fd: number, rec: ContainerRecord): Promise<void> {
  const buf = Buffer.alloc(16);
  for (;;) {
    try {
      if (readSync(fd, buf, 0, buf.length, null) === 0) return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    }
    if (!isAlive(rec.pid, rec.initStartTime)) return;
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Removes a container: kills it when asked, runs poststop hooks, removes cgroup and state. */
export async function deleteContainer(ctx: CommandContext, id: string, force: boolean): Promise<void> {
  const store = storeOf(ctx);
  let rec: ContainerRecord;
  try {
    rec = store.load(id);
  } catch (err) {
    // a state directory left by a create that died half-way: force removes it
    if (force && err instanceof BerthError && err.kind === 'failed-precondition' && existsSync(store.dir(id))) { store.remove(id); return; }
    throw err;
  }
  const status = currentStatus(store, rec, ctx.log);
  const cg = cgroupOf(rec, ctx.log);
  if (status === 'running' || status === 'paused') {
    if (!force) throw failedPrecondition(`cannot delete container ${id} that is not stopped: ${status}`);
  }
  if (status !== 'stopped') {
    // a created container is killed without --force, as runc does
    if (cg) { try { cg.killAll(9); } catch { /* fall back to the init alone */ } }
    try { process.kill(rec.pid, 'SIGKILL'); } catch { /* already gone */ }
    if (cg?.isFrozen()) cg.thaw();
    await waitGone(rec.pid, rec.initStartTime, 10_000);
  }
  if (cg) {
    try { cg.destroy({ killProcesses: true }); } catch (err) { throw wrap(`cannot delete container ${id}`, err); }
  }
  try {
    await runHooks('poststop', rec.config.hooks?.poststop, hookState(rec, 'stopped'));
  } catch (err) {
    ctx.log.warn((err as Error).message);
  }
  store.remove(id);
}

