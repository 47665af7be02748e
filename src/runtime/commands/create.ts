/** `create`: set up a container whose init waits for `start`. */
import type { CommandContext } from './context.js';
import type { CreateOptions } from '../cli/parse.js';
import { createContainer } from '../lifecycle.js';

export async function run(ctx: CommandContext, id: string, opts: CreateOptions): Promise<number> {
  await createContainer(ctx, id, opts, true);
  return 0;
}
