/**
 * `run`: create and start; without --detach wait for the init (the front
 * forwards signals and proxies a terminal), then delete the container
 * unless --keep, and exit with the init's exit code.
 */
import type { CommandContext } from './context.js';
import type { CreateOptions } from '../cli/parse.js';
import { createContainer, deleteContainer, startContainer } from '../lifecycle.js';
import { exitCodeOfStatus } from '../planner/conversation.js';

export interface RunOptions extends CreateOptions {
  detach: boolean;
  keep: boolean;
}

export async function run(ctx: CommandContext, id: string, opts: RunOptions): Promise<number> {
  await createContainer(ctx, id, opts, opts.detach);
  try {
    await startContainer(ctx, id);
  } catch (err) {
    await deleteContainer(ctx, id, true).catch(() => undefined);
    throw err;
  }
  if (opts.detach) return 0;
  const status = await ctx.front.waitChild();
  if (!opts.keep) await deleteContainer(ctx, id, true);
  return exitCodeOfStatus(status);
}
