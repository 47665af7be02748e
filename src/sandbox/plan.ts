/**
 * The sandbox section of a plan: what berth-sandbox adds to berth-runtime's
 * plan of a process (init or exec). The executor loads the filter after
 * the container's own seccomp filter; the front starts the supervisor and
 * hands it the table (native/sandbox/README.md).
 */
import { statSync } from 'node:fs';
import type { PlanEntry } from '../runtime/plan/wire.js';
import { compilePolicy, type CompiledPolicy, type PolicyTarget } from './policy/compile.js';
import { defaultPolicy, loadPolicyFile } from './policy/load.js';

const cached = new Map<string, CompiledPolicy>();

/**
 * The compiled policy for a kind of container (rules `for` some kinds
 * only): BERTH_SANDBOX_POLICY names another file; compiled once per
 * planner and kind.
 */
export function sandboxPolicy(policyFile: string | undefined, target: PolicyTarget = { hostPidNamespace: false }): CompiledPolicy {
  const key = `${policyFile ?? ''}\0${target.hostPidNamespace}`;
  let c = cached.get(key);
  if (!c) {
    c = compilePolicy(policyFile ? loadPolicyFile(policyFile) : defaultPolicy(), process.arch, target);
    cached.set(key, c);
  }
  return c;
}

export interface SandboxPlanOptions {
  /** bin/berth-sandbox-supervisor */
  supervisor: string;
  /** the JSON-lines file refusals are appended to */
  auditLog: string;
  policyFile?: string | undefined;
  /** the container has no pid namespace of its own */
  hostPidNamespace?: boolean;
}

export function sandboxRecords(o: SandboxPlanOptions): PlanEntry[] {
  const c = sandboxPolicy(o.policyFile, { hostPidNamespace: o.hostPidNamespace === true });
  const out: PlanEntry[] = [
    { type: 'SANDBOX', value: { supervisor: o.supervisor, audit: o.auditLog, filter: c.filter, arch: c.arch } },
    { type: 'SANDBOX_DEFAULT', value: { action: c.defaultAction, errno: c.defaultErrno } },
    { type: 'SANDBOX_UNAME', value: c.uname },
  ];
  for (const p of c.paths) out.push({ type: 'SANDBOX_PATH', value: p });
  for (const r of c.rules) out.push({ type: 'SANDBOX_RULE', value: { nr: r.nr, action: r.action, errno: r.errno, name: r.name } });
  return out;
}

/**
 * Whether a container sees the host's processes in its /proc: no pid
 * namespace of its own (`--pid=host`), or one joined by path that is the
 * host's.
 */
export function sharesHostPidNamespace(namespaces: readonly { type: string; path?: string | undefined }[] | undefined): boolean {
  const pid = namespaces?.find((n) => n.type === 'pid');
  if (!pid) return true;
  if (!pid.path) return false;
  try { return statSync(pid.path).ino === statSync('/proc/self/ns/pid').ino; } catch { return false; }
}

/** The audit log of a container: next to its state, so `delete` removes it with the state. */
export function auditLogPath(stateDir: string): string {
  return `${stateDir.replace(/\/$/, '')}/sandbox-audit.log`;
}

/**
 * The sandbox records a plan gets when the container belongs to berth-sandbox
 * (`runtime` is the program that created it, so an exec through another
 * front still runs under the supervisor); none otherwise.
 */
export function sandboxSection(runtime: string, stateDir: string, callerEnv: Record<string, string>, hostPidNamespace: boolean): PlanEntry[] {
  if (runtime !== 'berth-sandbox') return [];
  return sandboxRecords({
    hostPidNamespace,
    // empty: the front's own directory (bin/), where the build puts the supervisor
    supervisor: callerEnv.BERTH_SANDBOX_SUPERVISOR ?? '',
    auditLog: auditLogPath(stateDir),
    policyFile: callerEnv.BERTH_SANDBOX_POLICY || undefined,
  });
}
