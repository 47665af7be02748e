/**
 * The sandbox section of a plan: what berth-sandbox adds to berth-runtime's
 * plan of a process (init or exec). The executor loads the filter after
 * the container's own seccomp filter; the front starts the supervisor and
 * hands it the table (native/sandbox/README.md).
 */
import type { PlanEntry } from '../runtime/plan/wire.js';
import { compilePolicy, type CompiledPolicy } from './policy/compile.js';
import { defaultPolicy, loadPolicyFile } from './policy/load.js';

let cached: { key: string; compiled: CompiledPolicy } | undefined;

/** The compiled policy: BERTH_SANDBOX_POLICY names another file; compiled once per planner. */
export function sandboxPolicy(policyFile: string | undefined): CompiledPolicy {
  const key = policyFile ?? '';
  if (cached?.key !== key) cached = { key, compiled: compilePolicy(policyFile ? loadPolicyFile(policyFile) : defaultPolicy()) };
  return cached.compiled;
}

export interface SandboxPlanOptions {
  /** bin/berth-sandbox-supervisor */
  supervisor: string;
  /** the JSON-lines file refusals are appended to */
  auditLog: string;
  policyFile?: string | undefined;
}

export function sandboxRecords(o: SandboxPlanOptions): PlanEntry[] {
  const c = sandboxPolicy(o.policyFile);
  const out: PlanEntry[] = [
    { type: 'SANDBOX', value: { supervisor: o.supervisor, audit: o.auditLog, filter: c.filter, arch: c.arch } },
    { type: 'SANDBOX_DEFAULT', value: { action: c.defaultAction, errno: c.defaultErrno } },
    { type: 'SANDBOX_UNAME', value: c.uname },
  ];
  for (const p of c.paths) out.push({ type: 'SANDBOX_PATH', value: p });
  for (const r of c.rules) out.push({ type: 'SANDBOX_RULE', value: { nr: r.nr, action: r.action, errno: r.errno, name: r.name } });
  return out;
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
export function sandboxSection(runtime: string, stateDir: string, callerEnv: Record<string, string>): PlanEntry[] {
  if (runtime !== 'berth-sandbox') return [];
  return sandboxRecords({
    // empty: the front's own directory (bin/), where the build puts the supervisor
    supervisor: callerEnv.BERTH_SANDBOX_SUPERVISOR ?? '',
    auditLog: auditLogPath(stateDir),
    policyFile: callerEnv.BERTH_SANDBOX_POLICY || undefined,
  });
}
