/**
 * `berth-runtime features`: prints the runtime-spec features document
 * (4-space indented JSON, as runc prints it).
 */
import type { CommandContext } from './context.js';
import { features } from '../spec/features.js';

export type FeaturesOptions = Record<string, never>;

export async function run(ctx: CommandContext, _opts: FeaturesOptions = {}): Promise<number> {
  ctx.stdout.write(`${JSON.stringify(features(ctx.program), null, 4)}\n`);
  return 0;
}
