/** `ps`: the processes of a container: pids as JSON, or ps(1)'s table filtered to them. */
import { spawnSync } from 'node:child_process';
import type { CommandContext } from './context.js';
import { cgroupOf, storeOf } from '../lifecycle.js';
import { BerthError, failedPrecondition } from '../../common/errors.js';

export async function run(ctx: CommandContext, id: string, psArgs: string[], opts: { format: 'table' | 'json' }): Promise<number> {
  const rec = storeOf(ctx).load(id);
  const cg = cgroupOf(rec, ctx.log);
  if (!cg) throw failedPrecondition(`container ${id} has no cgroup`);
  const pids = cg.pids();
  if (opts.format === 'json') {
    ctx.stdout.write(JSON.stringify(pids) + '\n');
    return 0;
  }
  const r = spawnSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
  if (r.status !== 0) throw new BerthError('internal', `ps ${psArgs.join(' ')} failed: ${r.stderr || r.error?.message}`);
  const lines = r.stdout.split('\n');
  const header = lines[0] ?? '';
  const pidCol = header.trim().split(/\s+/).indexOf('PID');
  if (pidCol < 0) throw new BerthError('invalid-argument', `ps output has no PID column (arguments: ${psArgs.join(' ')})`);
  const wanted = new Set(pids);
  const rows = lines.slice(1).filter((l) => wanted.has(Number(l.trim().split(/\s+/)[pidCol])));
  ctx.stdout.write([header, ...rows].join('\n') + '\n');
  return 0;
}
