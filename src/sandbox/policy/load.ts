/** Reading a policy file: JSON, then the schema; errors name the file and the field. */
import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../common/errors.js';
import { policySchema, type SandboxPolicy } from './schema.js';
import defaultPolicyJson from './default.json' with { type: 'json' };

/** Checks parsed JSON against the schema. */
export function parsePolicy(raw: unknown, source: string): SandboxPolicy {
  const r = policySchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0]!;
    const at = first.path.length ? first.path.join('.') : '(top)';
    throw invalidArgument(`sandbox policy ${source}: ${at}: ${first.message}`);
  }
  return r.data;
}

export function loadPolicyFile(path: string): SandboxPolicy {
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(path, 'utf8')); } catch (err) {
    throw invalidArgument(`sandbox policy ${path}: ${(err as Error).message}`);
  }
  return parsePolicy(raw, path);
}

/** The policy shipped with Berth (bundled: the planner reads no file for it). */
export function defaultPolicy(): SandboxPolicy {
  return parsePolicy(defaultPolicyJson, 'default.json');
}

