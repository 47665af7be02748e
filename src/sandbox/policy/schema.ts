/**
 * The shape of a berth-sandbox policy file (policy/default.json), validated
 * with zod: a person edits this file, so every mistake is reported with the
 * path of the field that is wrong.
 */
import { z } from 'zod';

/** errno names a policy may give; numbers are x86_64/aarch64 Linux's. */
export const ERRNOS = { EPERM: 1, ENOENT: 2, EACCES: 13, EINVAL: 22, ENOSYS: 38, EOPNOTSUPP: 95 } as const;
export type ErrnoName = keyof typeof ERRNOS;

const errnoName = z.enum(Object.keys(ERRNOS) as [ErrnoName, ...ErrnoName[]]);
const u32 = z.number().int().min(0).max(0xffffffff);

/** A condition on the low 32 bits of one argument. */
export const conditionSchema = z.strictObject({
  arg: z.number().int().min(0).max(5),
  op: z.enum(['eq', 'ne', 'masked_eq']),
  value: u32,
  /** masked_eq: (arg & mask) == value */
  mask: u32.optional(),
}).refine((c) => (c.op === 'masked_eq') === (c.mask !== undefined), { message: 'mask is given with masked_eq and only with it' });

export const ruleSchema = z.strictObject({
  why: z.string().optional(),
  action: z.enum(['allow', 'pass', 'emulate', 'refuse']),
  syscalls: z.array(z.string().regex(/^[a-z_][a-z0-9_]*$/)).min(1),
  errno: errnoName.optional(),
  /** refusals only: false = the filter returns errno itself, no supervisor round trip and no audit line */
  audit: z.boolean().optional(),
  when: z.array(conditionSchema).max(6).optional(),
  /** only for containers of this kind: 'host-pid-namespace', those without a pid namespace of their own */
  for: z.enum(['host-pid-namespace']).optional(),
}).refine((r) => r.action === 'refuse' || (r.errno === undefined && r.audit === undefined), {
  message: 'errno and audit belong to refuse rules',
});

/** Files the supervisor refuses to open, wherever the caller's path led (checked on what was opened). */
export const pathRuleSchema = z.strictObject({
  why: z.string().optional(),
  /** absolute, inside the container; matches itself and everything below it */
  prefix: z.string().regex(/^\/(?:[^/\0]+(?:\/[^/\0]+)*)?$/, 'an absolute path without a trailing slash'),
  deny: z.enum(['write', 'open']),
  errno: errnoName.optional(),
});

export const policySchema = z.strictObject({
  name: z.string().min(1),
  about: z.string().optional(),
  uname: z.strictObject({
    sysname: z.string().min(1).max(64),
    release: z.string().min(1).max(64),
    version: z.string().min(1).max(64),
  }),
  otherwise: z.strictObject({ action: z.literal('refuse'), errno: errnoName }),
  rules: z.array(ruleSchema).min(1),
  paths: z.array(pathRuleSchema).optional(),
});

export type SandboxPolicy = z.infer<typeof policySchema>;
export type PolicyRule = z.infer<typeof ruleSchema>;
export type PolicyCondition = z.infer<typeof conditionSchema>;
export type PathRule = z.infer<typeof pathRuleSchema>;
