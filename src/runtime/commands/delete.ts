/** `delete`: remove a stopped container (or any, with --force). */
import type { CommandContext } from './context.js';
import { deleteContainer } from '../lifecycle.js';

export async function run(ctx: CommandContext, id: string, opts: { force: boolean }): Promise<number> {
  await deleteContainer(ctx, id, opts.force);
  return 0;
}
