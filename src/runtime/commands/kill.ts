/** `kill`: send a signal to the init, or with --all to every process of the container. */
import type { CommandContext } from './context.js';
import { cgroupOf, currentStatus, storeOf } from '../lifecycle.js';
import { parseSignal } from '../spec/signals.js';
import { failedPrecondition, wrap } from '../../common/errors.js';

export async function run(ctx: CommandContext, id: string, signal: string, opts: { all: boolean }): Promise<number> {
  const sig = parseSignal(signal);
  const store = storeOf(ctx);
  const rec = store.load(id);
  const status = currentStatus(store, rec, ctx.log);
  if (status === 'stopped') throw failedPrecondition(`cannot kill container ${id}: container not running`);
  try {
    if (opts.all) {
      const cg = cgroupOf(rec, ctx.log);
      if (cg) cg.killAll(sig);
      else process.kill(rec.pid, sig);
    } else {
      process.kill(rec.pid, sig);
    }
  } catch (err) {
    throw wrap(`cannot kill container ${id}`, err);
  }
  return 0;
}
