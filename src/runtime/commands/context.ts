/**
 * What every berth-runtime command receives. Commands never touch
 * process.argv, process.stdout or process.cwd(): the planner may serve many
 * invocations at once, each from another caller.
 */
import type { Logger } from '../../common/log.js';

export interface GlobalOptions {
  /** state directory root (--root), absolute */
  root: string;
  /** --log file, or undefined for stderr only */
  log: string | undefined;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
}

export interface Output {
  write(data: string | Uint8Array): void;
}

export interface CommandContext {
  globals: GlobalOptions;
  /** the caller's working directory: relative paths are resolved against it */
  cwd: string;
  stdout: Output;
  stderr: Output;
  /** reads all of the caller's stdin (used by `update -r -`) */
  readStdin(): Promise<Buffer>;
  stdinIsTty: boolean;
  log: Logger;
  /** the name the runtime was invoked as (berth-runtime, berth-sandbox …) */
  program: string;
  /** aborted when the caller goes away (the front died or was interrupted) */
  signal: AbortSignal;
}

/** Resolves a path given by the caller against the caller's cwd. */
export function callerPath(ctx: CommandContext, p: string): string {
  return p.startsWith('/') ? p : `${ctx.cwd.replace(/\/$/, '')}/${p}`;
}
