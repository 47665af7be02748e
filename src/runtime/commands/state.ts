/** `state`: the OCI state document of a container. */
import type { CommandContext } from './context.js';
import { currentStatus, storeOf } from '../lifecycle.js';
import { ociState } from '../state.js';

export async function run(ctx: CommandContext, id: string): Promise<number> {
  const store = storeOf(ctx);
  const rec = store.load(id);
  ctx.stdout.write(JSON.stringify(ociState(rec, currentStatus(store, rec, ctx.log)), null, 2) + '\n');
  return 0;
}
