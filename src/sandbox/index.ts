/**
 * berth-sandbox (issue 7): berth-runtime's command line and plans, plus a
 * user-space supervisor (native/sandbox, C) that answers the container's
 * system calls by a policy that is data (policy/default.json).
 */
export { sandboxRecords, sandboxPolicy, sandboxSection, sharesHostPidNamespace, auditLogPath, type SandboxPlanOptions } from './plan.js';
export { compilePolicy, TABLE_ACTION, type CompiledPolicy, type TableRule } from './policy/compile.js';
export { parsePolicy, loadPolicyFile, defaultPolicy } from './policy/load.js';
export type { SandboxPolicy, PolicyRule, PolicyCondition } from './policy/schema.js';

/** The program names that select the sandbox (the front's argv[0]). */
export function isSandboxProgram(program: string): boolean {
  return program === 'berth-sandbox';
}
