/**
 * What every berth-runtime command receives. Commands never touch
 * process.argv, process.stdout or process.cwd(): the planner may serve many
 * invocations at once, each from another caller.
 */
import type { Logger } from '../../common/log.js';
import type { PlanEntry } from '../plan/wire.js';
import type { ChildEvent } from '../planner/conversation.js';

/**
 * The C front that invoked this command: it clones and sets up container
 * processes from plans, in the caller's process tree.
 */
export interface Front {
  /** hands over a plan; resolves with the host pid of the new process */
  execute(plan: PlanEntry[]): Promise<number>;
  /** resumes the child at its next sync point */
  resume(): Promise<ChildEvent>;
  /** kills a child that is not ready yet */
  abortChild(): Promise<void>;
  /** waits for the child to exit (signals forwarded); raw wait status */
  waitChild(): Promise<number>;
}

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
  /** the front process: pid and selected environment of the caller */
  front: Front;
  callerPid: number;
  callerEnv: Record<string, string>;
}

/** Resolves a path given by the caller against the caller's cwd. */
export function callerPath(ctx: CommandContext, p: string): string {
  return p.startsWith('/') ? p : `${ctx.cwd.replace(/\/$/, '')}/${p}`;
}
