/**
 * validateSpec: a parsed config.json → a checked Spec, or one error
 * sentence naming the file, the field and the reason:
 *   config.json: linux.namespaces[2].type: unknown namespace type "foo"
 * Only the first problem is reported (a person fixes one thing at a time,
 * and engines log one line). Warnings are returned for what the spec or
 * runc only warn about: unknown capabilities, relative mount destinations.
 */
import type { z } from 'zod';
import { Checker, type ValidateOptions } from './checker.js';
import { checkProcess } from './checks-process.js';
import { checkMounts } from './checks-mounts.js';
import { checkSeccomp } from './checks-seccomp.js';
import {
  checkDevices, checkMisc, checkNamespaces, checkPaths, checkResources, checkSysctl, checkTimeNamespace,
  checkUserNamespace, checkUts,
} from './checks-linux.js';
import { valueAt, type FieldPath } from './field-path.js';
import { HOOK_NAMES } from './features.js';
import { processSchema, specSchema } from './schema.js';
import type { Hooks, Process, Spec } from './types.js';

export type { ValidateOptions } from './checker.js';

export interface ValidatedSpec {
  spec: Spec;
  warnings: string[];
}

export function validateSpec(raw: unknown, file = 'config.json', options: ValidateOptions = {}): ValidatedSpec {
  const c: Checker = new Checker(file, { requireProcess: options.requireProcess ?? true });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) c.fail([], 'must hold a JSON object');
  const parsed = specSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    c.fail(issue.path as FieldPath, describeIssue(issue, raw));
  }
  const spec: Spec = parsed.data;
  checkSpec(c, spec);
  return { spec, warnings: c.warnings };
}

/**
 * For `exec --process FILE`: a process object on its own, checked like
 * config.json's `process` (field paths then start at "process").
 */
export function validateProcess(raw: unknown, file = 'process.json'): { process: Process; warnings: string[] } {
  const c: Checker = new Checker(file, { requireProcess: true });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) c.fail([], 'must hold a JSON object');
  const parsed = processSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    c.fail(['process', ...issue.path] as FieldPath, describeIssue(issue, { process: raw }));
  }
  const process: Process = parsed.data;
  checkProcess(c, process);
  return { process, warnings: c.warnings };
}

function checkSpec(c: Checker, spec: Spec): void {
  checkVersion(c, spec.ociVersion);
  if (!spec.root) c.fail(['root'], 'is required');
  if (spec.root.path === '') c.fail(['root', 'path'], 'must not be empty');
  if (c.options.requireProcess && !spec.process) c.fail(['process'], 'is required to create a container');
  if (spec.process) checkProcess(c, spec.process);
  const ns = checkNamespaces(c, spec.linux);
  checkUserNamespace(c, spec.linux, ns);
  checkTimeNamespace(c, spec.linux, ns);
  checkUts(c, spec, ns);
  checkMounts(c, spec.mounts, ns);
  checkPaths(c, spec.linux, ns);
  checkSysctl(c, spec, ns);
  checkDevices(c, spec.linux);
  checkResources(c, spec.linux);
  checkSeccomp(c, spec.linux?.seccomp);
  checkMisc(c, spec.linux);
  checkHooks(c, spec.hooks);
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** Any 1.x is accepted: the spec keeps compatibility within a major version. */
function checkVersion(c: Checker, v: string): void {
  const m = SEMVER.exec(v);
  if (!m) c.fail(['ociVersion'], `${JSON.stringify(v)} is not a semantic version such as "1.2.0"`);
  if (m[1] !== '1') c.fail(['ociVersion'], `version ${JSON.stringify(v)} is not supported (1.x is)`);
}

function checkHooks(c: Checker, hooks: Hooks | undefined): void {
  // only the hook points the spec defines: others are unknown properties, kept and ignored
  for (const point of HOOK_NAMES) {
    hooks?.[point]?.forEach((h, i) => c.absolute(['hooks', point, i, 'path'], h.path));
  }
}

// ── zod issues in words ─────────────────────────────────────────────────────

const ARTICLE: Record<string, string> = {
  string: 'a string', number: 'a number', boolean: 'true or false', array: 'an array', object: 'an object',
  bigint: 'an integer', record: 'an object',
};

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'bigint') return 'a number';
  return ARTICLE[typeof v] ?? typeof v;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const value = valueAt(raw, issue.path as FieldPath);
  if (value === undefined && issue.path.length > 0) return 'is required';
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${ARTICLE[issue.expected] ?? issue.expected}, not ${kindOf(value)}`;
    case 'too_small':
      return issue.origin === 'array' && Number(issue.minimum) === 1
        ? 'must contain at least one element'
        : `must have at least ${issue.minimum} elements`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}
