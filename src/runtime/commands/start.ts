/** `start`: release a created container's init. */
import type { CommandContext } from './context.js';
import { startContainer } from '../lifecycle.js';

export async function run(ctx: CommandContext, id: string): Promise<number> {
  await startContainer(ctx, id);
  return 0;
}
