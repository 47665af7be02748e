/** `list`: the containers under --root, as a table or JSON (runc's shape). */
import type { CommandContext } from './context.js';
import { currentStatus, storeOf } from '../lifecycle.js';
import { ociState } from '../state.js';

export async function run(ctx: CommandContext, opts: { format: 'table' | 'json'; quiet: boolean }): Promise<number> {
  const store = storeOf(ctx);
  const rows = store.ids().flatMap((id) => {
    try {
      const rec = store.load(id);
      return [ociState(rec, currentStatus(store, rec, ctx.log))];
    } catch {
      return []; // removed meanwhile, or still being created
    }
  });
  if (opts.quiet) {
    ctx.stdout.write(rows.map((r) => `${r.id as string}\n`).join(''));
  } else if (opts.format === 'json') {
    ctx.stdout.write(JSON.stringify(rows) + '\n');
  } else {
    const table = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
      ...rows.map((r) => [String(r.id), String(r.pid), String(r.status), String(r.bundle), String(r.created), String(r.owner)])];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    ctx.stdout.write(table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('')).join('\n') + '\n');
  }
  return 0;
}
