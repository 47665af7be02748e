/**
 * What every command gets: its parsed flags, the engine client, stdout and
 * stderr, and the exit-code conventions of docker (1 for an error, 125 when
 * `run` fails before the container runs, 126/127 when its command cannot be
 * invoked or is not found).
 */
import type { FlagSpec, Opts } from './args.js';
import type { EngineClient } from './client.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface CliContext extends Io {
  client(): EngineClient;
  env: NodeJS.ProcessEnv;
}

export interface CommandSpec {
  /** Primary name and aliases (`ps`, `container ls` …). */
  names: string[];
  usage: string;
  summary: string;
  flags: FlagSpec[];
  /** false: flags only before the first argument (run, create, exec). */
  interspersed?: boolean;
  minArgs?: number;
  maxArgs?: number;
  run(ctx: CliContext, opts: Opts): Promise<number>;
}

/** An error the command already phrased; `code` is the exit code (1 unless told). */
export class CliError extends Error {
  constructor(message: string, readonly code = 1) { super(message); }
}

/** Runs `fn` for every target, printing successes, collecting daemon errors (docker's multi-target commands). */
export async function forEachTarget(ctx: CliContext, targets: string[], fn: (t: string) => Promise<string | undefined>): Promise<number> {
  let failed = false;
  for (const t of targets) {
    try {
      const printed = await fn(t);
      if (printed !== undefined) ctx.out(`${printed}\n`);
    } catch (e) {
      failed = true;
      ctx.err(`${describe(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}

/** Docker's phrasing of an error from the daemon or the connection. */
export function describe(e: unknown): string {
  if (e && typeof e === 'object' && 'status' in e && e instanceof Error) return `Error response from daemon: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export const help = (flag = 'help'): FlagSpec => ({ name: flag, type: 'bool' });
