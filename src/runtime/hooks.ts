/**
 * OCI lifecycle hooks run by the planner (runtime-spec config.md "POSIX-
 * platform Hooks"): each hook gets the container state on stdin, runs with
 * its own args and env, and fails the step when it exits non-zero or
 * outlives its timeout. startContainer hooks run inside the container and
 * are the executor's (plan record START_HOOK).
 */
import { spawn } from 'node:child_process';
import { BerthError } from '../common/errors.js';
import type { Hook } from './spec/types.js';

export type HookName = 'prestart' | 'createRuntime' | 'createContainer' | 'poststart' | 'poststop';

export interface HookRunOptions {
  /** run inside the mount namespace of this pid (createContainer hooks) */
  mountNsOf?: number;
}

function runHook(name: HookName, index: number, hook: Hook, state: string, opts: HookRunOptions): Promise<void> {
  const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  let file = hook.path;
  let argv = args.slice(1);
  let argv0 = args[0];
  if (opts.mountNsOf) {
    // nsenter execs the hook in the container's mount namespace, before pivot_root:
    // host paths still resolve there, as the spec asks for createContainer hooks.
    file = 'nsenter';
    argv = [`--mount=/proc/${opts.mountNsOf}/ns/mnt`, '--', hook.path, ...args.slice(1)];
    argv0 = 'nsenter';
  }
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { argv0, env: Object.fromEntries((hook.env ?? []).map((e) => { const i = e.indexOf('='); return [e.slice(0, i), e.slice(i + 1)]; })), stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    if (hook.timeout && hook.timeout > 0) {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new BerthError('failed-precondition', `${name} hook #${index} (${hook.path}) timed out after ${hook.timeout}s`));
      }, hook.timeout * 1000);
    }
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
    child.stdin.on('error', () => { /* a hook that does not read its stdin is fine */ });
    child.stdin.end(state);
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(new BerthError('failed-precondition', `${name} hook #${index} (${hook.path}): ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new BerthError('failed-precondition', `${name} hook #${index} (${hook.path}) failed: ${signal ? `killed by ${signal}` : `exit status ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
}

/** Runs the hooks in order; the first failure stops the rest. */
export async function runHooks(name: HookName, hooks: readonly Hook[] | undefined, state: object, opts: HookRunOptions = {}): Promise<void> {
  const json = JSON.stringify(state);
  for (const [i, h] of (hooks ?? []).entries()) await runHook(name, i, h, json, opts);
}
