/** `events`: resource statistics of a container, once (--stats) or every --interval. */
import type { CommandContext } from './context.js';
import { cgroupOf, currentStatus, storeOf } from '../lifecycle.js';
import { failedPrecondition, invalidArgument } from '../../common/errors.js';
import { toRuncStatsJson } from '../cgroups/index.js';

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw invalidArgument(`invalid --interval "${s}": use a duration such as 5s or 500ms`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  if (ms <= 0) throw invalidArgument(`invalid --interval "${s}": must be positive`);
  return ms;
}

export async function run(ctx: CommandContext, id: string, opts: { stats: boolean; interval: string }): Promise<number> {
  const interval = parseDuration(opts.interval);
  const store = storeOf(ctx);
  const rec = store.load(id);
  const cg = cgroupOf(rec, ctx.log);
  if (!cg) throw failedPrecondition(`container ${id} has no cgroup`);
  const emit = (): void => {
    ctx.stdout.write(JSON.stringify({ type: 'stats', id, data: toRuncStatsJson(cg.stats()) }) + '\n');
  };
  if (currentStatus(store, rec, ctx.log) === 'stopped') throw failedPrecondition(`container ${id} is stopped`);
  emit();
  if (opts.stats) return 0;
  while (!ctx.signal.aborted) {
    await new Promise((r) => setTimeout(r, interval));
    if (ctx.signal.aborted) break;
    if (currentStatus(store, rec, ctx.log) === 'stopped') break;
    emit();
  }
  return 0;
}
