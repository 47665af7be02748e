/**
 * The verbs of berth-vm after `create` (create.ts) and `exec` (exec.ts):
 * each reads the state, asks the keeper where needed, and returns an exit
 * code. Signals and `start` travel keeper → agent; pause freezes the host
 * cgroup, which stops the whole VM.
 */
import { spawnSync } from 'node:child_process';
import { BerthError, failedPrecondition, invalidArgument, wrap } from '../common/errors.js';
import { fromPaths, toRuncStatsJson, type CgroupManager } from '../runtime/cgroups/index.js';
import { parseSignal } from '../runtime/spec/signals.js';
import { ociState, StateStore, type ContainerRecord, type Status } from '../runtime/state.js';
import { expectOk, request } from './control.js';
import type { VmContext } from './context.js';
import { createVm, type CreateOptions } from './create.js';
import { cleanupVm } from './delete.js';
import { MsgType } from './protocol.js';
import { paths } from './qemu.js';
import { loadVm, vmStatus } from './state.js';

export const storeOf = (ctx: VmContext): StateStore => new StateStore(ctx.root);

function cgroupOf(rec: ContainerRecord, ctx: VmContext): CgroupManager | undefined {
  try { return rec.cgroup ? fromPaths(rec.cgroup.paths, ctx.log) : undefined; } catch { return undefined; }
}

export async function statusOf(ctx: VmContext, rec: ContainerRecord): Promise<Status> {
  const cg = cgroupOf(rec, ctx);
  return vmStatus(storeOf(ctx), rec, loadVm(storeOf(ctx), rec.id), () => { try { return cg?.isFrozen() ?? false; } catch { return false; } });
}

export async function start(ctx: VmContext, id: string): Promise<number> {
  const store = storeOf(ctx);
  const rec = store.load(id);
  const status = await statusOf(ctx, rec);
  if (status !== 'created') throw failedPrecondition(`cannot start container ${id}: container is ${status}, not created`);
  expectOk(await request(paths(store.dir(id)).controlSocket, MsgType.Start), `cannot start container ${id}`);
  return 0;
}

export async function state(ctx: VmContext, id: string): Promise<number> {
  const rec = storeOf(ctx).load(id);
  const status = await statusOf(ctx, rec);
  const vm = loadVm(storeOf(ctx), id);
  const doc = ociState(rec, status);
  // what a person debugging a VM container wants next to the OCI fields
  doc.annotations = { ...rec.annotations, 'berth.vm.qemu-pid': String(vm?.qemu.pid ?? 0), 'berth.vm.kernel': vm?.release ?? '', 'berth.vm.accel': vm?.accel ?? '', 'berth.vm.machine': vm?.machine ?? '' };
  ctx.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  return 0;
}

export async function kill(ctx: VmContext, id: string, signal: string, all: boolean): Promise<number> {
  const sig = parseSignal(signal);
  const store = storeOf(ctx);
  const rec = store.load(id);
  const status = await statusOf(ctx, rec);
  if (status === 'stopped') throw failedPrecondition(`cannot kill container ${id}: container not running`);
  const payload = Buffer.alloc(8);
  payload.writeUInt32LE(sig, 0);
  payload.writeUInt32LE(all ? 1 : 0, 4);
  try {
    if (status === 'paused') throw new BerthError('unavailable', 'paused');
    expectOk(await request(paths(store.dir(id)).controlSocket, MsgType.Signal, payload), `cannot kill container ${id}`);
  } catch (err) {
    // the agent cannot be reached (paused, hung, gone): SIGKILL still ends the VM, and the container with it
    if (sig !== 9) throw err instanceof BerthError ? err : wrap(`cannot kill container ${id}`, err);
    const vm = loadVm(store, id);
    cgroupOf(rec, ctx)?.killAll(9);
    for (const p of [vm?.qemu.pid, rec.pid]) { try { if (p) process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  }
  return 0;
}

export async function remove(ctx: VmContext, id: string, force: boolean): Promise<number> {
  const store = storeOf(ctx);
  let rec: ContainerRecord;
  try {
    rec = store.load(id);
  } catch (err) {
    // a create that died half-way leaves a directory without state.json: --force clears it
    if (force && err instanceof BerthError && err.kind === 'failed-precondition') { await cleanupVm(store, id, ctx.log); return 0; }
    throw err;
  }
  const status = await statusOf(ctx, rec);
  if (status !== 'stopped' && status !== 'created' && !force) {
    throw failedPrecondition(`cannot delete container ${id} that is not stopped: ${status}`);
  }
  await cleanupVm(store, id, ctx.log);
  return 0;
}

export async function list(ctx: VmContext, format: 'table' | 'json', quiet: boolean): Promise<number> {
  const store = storeOf(ctx);
  const rows = [];
  for (const id of store.ids()) {
    try {
      const rec = store.load(id);
      rows.push({ rec, status: await statusOf(ctx, rec) });
    } catch { /* removed meanwhile */ }
  }
  if (quiet) { for (const r of rows) ctx.stdout.write(`${r.rec.id}\n`); return 0; }
  if (format === 'json') {
    ctx.stdout.write(`${JSON.stringify(rows.map((r) => ({ ...ociState(r.rec, r.status), rootfs: r.rec.rootfs })))}\n`);
    return 0;
  }
  ctx.stdout.write('ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n');
  for (const r of rows) ctx.stdout.write(`${r.rec.id}\t${r.status === 'stopped' ? 0 : r.rec.pid}\t${r.status}\t${r.rec.bundle}\t${r.rec.created}\troot\n`);
  return 0;
}

/**
 * The host processes of the container — keeper, qemu, virtiofsd — as runc
 * gives a container's: pids as JSON, or ps(1)'s table filtered to them. The
 * guest's own pids mean nothing on the host: an engine that reads the host's
 * ps for them (docker top) would show unrelated processes.
 */
export async function ps(ctx: VmContext, id: string, format: 'table' | 'json', psArgs: string[] = []): Promise<number> {
  const rec = storeOf(ctx).load(id);
  const pids = cgroupOf(rec, ctx)?.pids() ?? [];
  if (format === 'json') { ctx.stdout.write(`${JSON.stringify(pids)}\n`); return 0; }
  const r = spawnSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
  if (r.status !== 0) throw new BerthError('internal', `cannot list the processes of container ${id}: ps ${psArgs.join(' ')}: ${r.stderr || r.error?.message}`);
  const [header = '', ...lines] = r.stdout.split('\n');
  const pidCol = header.trim().split(/\s+/).indexOf('PID');
  if (pidCol < 0) throw invalidArgument(`cannot list the processes of container ${id}: ps output has no PID column (arguments: ${psArgs.join(' ')})`);
  const wanted = new Set(pids);
  ctx.stdout.write(`${[header, ...lines.filter((l) => wanted.has(Number(l.trim().split(/\s+/)[pidCol])))].join('\n')}\n`);
  return 0;
}

export async function pause(ctx: VmContext, id: string, freeze: boolean): Promise<number> {
  const rec = storeOf(ctx).load(id);
  const status = await statusOf(ctx, rec);
  if (freeze && status !== 'running') throw failedPrecondition(`cannot pause container ${id}: container is ${status}`);
  if (!freeze && status !== 'paused') throw failedPrecondition(`cannot resume container ${id}: container is not paused`);
  const cg = cgroupOf(rec, ctx);
  if (!cg) throw failedPrecondition(`cannot ${freeze ? 'pause' : 'resume'} container ${id}: it has no cgroup`);
  if (freeze) cg.freeze(); else cg.thaw();
  return 0;
}

export async function events(ctx: VmContext, id: string, stats: boolean): Promise<number> {
  const rec = storeOf(ctx).load(id);
  const cg = cgroupOf(rec, ctx);
  if (!cg) throw failedPrecondition(`cannot read statistics of container ${id}: it has no cgroup`);
  const line = (): void => { ctx.stdout.write(`${JSON.stringify({ type: 'stats', id, data: toRuncStatsJson(cg.stats()) })}\n`); };
  line();
  if (stats) return 0;
  while ((await statusOf(ctx, rec)) !== 'stopped') {
    await new Promise((r) => setTimeout(r, 5000));
    line();
  }
  return 0;
}

export async function run(ctx: VmContext, id: string, opts: CreateOptions & { detach: boolean; keep: boolean }): Promise<number> {
  const keeperExit = await createVm(ctx, id, { ...opts, waitable: !opts.detach });
  try {
    await start(ctx, id);
  } catch (err) {
    await cleanupVm(storeOf(ctx), id, ctx.log).catch(() => undefined);
    throw err;
  }
  if (opts.detach || !keeperExit) return 0;
  const code = await keeperExit.exit;
  if (!opts.keep) await cleanupVm(storeOf(ctx), id, ctx.log);
  return code;
}
