/**
 * The runtime's command line for what the shim does not do itself (pause,
 * resume, update, events --stats, and delete --force after a shim died),
 * always with the shim's runtime root so it finds the container's state.
 */
import { spawn } from 'node:child_process';
import { BerthError } from '../../common/errors.js';
import type { TaskRecord } from './store.js';
import { runtimeRoot } from './paths.js';

export interface RuntimeResult { stdout: string; stderr: string }

/**
 * Runs `<runtime> [args] --root <root> <argv>`; a non-zero exit throws with the runtime's stderr.
 *
 * stdin gets bytes only when there is input (an empty write fails too), and
 * a runtime that exits without reading it (EPIPE on our end) is judged by
 * its exit status: an 'error' on a stream nobody listens to is thrown out of
 * the event loop and kills the whole core. It did, under load: a `pause`
 * that exited before its empty stdin was written dropped the connection of
 * the Metrics call that followed (and of every other caller).
 */
export function runRuntime(task: Pick<TaskRecord, 'runtimePath' | 'runtimeArgs' | 'shimState' | 'id'>, argv: string[], what: string, input?: string): Promise<RuntimeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(task.runtimePath, [...task.runtimeArgs, '--root', runtimeRoot(task.shimState), ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', (err) => reject(new BerthError('unavailable', `cannot ${what} task ${task.id}: cannot run ${task.runtimePath}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) { resolve({ stdout, stderr }); return; }
      const message = stderr.trim().split('\n').filter(Boolean).pop() ?? `exit status ${String(code)}`;
      reject(new BerthError('failed-precondition', `cannot ${what} task ${task.id}: ${message}`));
    });
    child.stdin.on('error', () => { /* the runtime left without reading: its exit status tells */ });
    if (input === undefined) child.stdin.end(); else child.stdin.end(input);
  });
}
