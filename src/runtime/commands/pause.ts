/** `pause` and `resume`: freeze and thaw every process of a container. */
import type { CommandContext } from './context.js';
import { cgroupOf, currentStatus, storeOf } from '../lifecycle.js';
import { failedPrecondition } from '../../common/errors.js';

function managerFor(ctx: CommandContext, id: string, want: 'running' | 'paused') {
  const store = storeOf(ctx);
  const rec = store.load(id);
  const status = currentStatus(store, rec, ctx.log);
  if (status !== want) throw failedPrecondition(`cannot ${want === 'running' ? 'pause' : 'resume'} container ${id}: it is ${status}`);
  const cg = cgroupOf(rec, ctx.log);
  if (!cg) throw failedPrecondition(`container ${id} has no cgroup`);
  return cg;
}

export async function pause(ctx: CommandContext, id: string): Promise<number> {
  managerFor(ctx, id, 'running').freeze();
  return 0;
}

export async function resume(ctx: CommandContext, id: string): Promise<number> {
  managerFor(ctx, id, 'paused').thaw();
  return 0;
}
