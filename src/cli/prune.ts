/**
 * What the prune commands share: docker's confirmation prompt (skipped by
 * -f) and its report ("Deleted X:" then "Total reclaimed space:").
 */
import { readline } from './builtins.js';
import type { Io } from './command.js';
import { humanSize4 } from './format/units.js';

/** Asks "[y/N]" on stdout and reads one line of stdin; true for y/yes. */
export async function confirm(io: Io, warning: string): Promise<boolean> {
  io.out(`${warning}\nAre you sure you want to continue? [y/N] `);
  const rl = readline().createInterface({ input: process.stdin });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^(y|yes)$/i.test(answer.trim());
}

/** "Deleted <title>:" with one line each (nothing when empty), then the space line when given. */
export function pruneReport(title: string, items: string[], reclaimed: number | undefined): string {
  let out = items.length > 0 ? `Deleted ${title}:\n${items.map((i) => `${i}\n`).join('')}\n` : '';
  if (reclaimed !== undefined) out += `Total reclaimed space: ${humanSize4(reclaimed)}\n`;
  return out;
}
