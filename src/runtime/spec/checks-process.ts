/**
 * Rules on `process` beyond its shape (config.md "Process", "POSIX process",
 * "Linux process"; runc's scheduler and I/O priority checks).
 */
import type { Checker } from './checker.js';
import type { Capabilities, Process, Scheduler } from './types.js';
import { canonicalCapability } from './capabilities.js';
import { toBigInt } from './ints.js';

export function checkProcess(c: Checker, p: Process): void {
  if (!p.args || p.args.length === 0) c.fail(['process', 'args'], 'must contain at least one element');
  if (p.args[0] === '') c.fail(['process', 'args', 0], 'must not be empty');
  c.absolute(['process', 'cwd'], p.cwd);
  p.env?.forEach((kv, i) => checkEnv(c, i, kv));
  checkRlimits(c, p);
  if (p.capabilities) p.capabilities = filterCapabilities(c, p.capabilities);
  if (p.scheduler) checkScheduler(c, p.scheduler);
}

function checkEnv(c: Checker, i: number, kv: string): void {
  const eq = kv.indexOf('=');
  if (eq < 0) c.fail(['process', 'env', i], `must be NAME=value, not ${JSON.stringify(kv)}`);
  if (eq === 0) c.fail(['process', 'env', i], `has an empty name in ${JSON.stringify(kv)}`);
  if (kv.includes('\0')) c.fail(['process', 'env', i], 'must not contain a NUL character');
}

function checkRlimits(c: Checker, p: Process): void {
  const seen = new Set<string>();
  p.rlimits?.forEach((r, i) => {
    if (seen.has(r.type)) c.fail(['process', 'rlimits', i, 'type'], `duplicate rlimit type "${r.type}"`);
    seen.add(r.type);
    if (toBigInt(r.soft) > toBigInt(r.hard)) {
      c.fail(['process', 'rlimits', i], `soft limit ${r.soft} is above the hard limit ${r.hard}`);
    }
  });
}

const CAP_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;

/**
 * Unknown capabilities are skipped with a warning, as runc does and as the
 * spec asks (a runtime should not fail on capabilities it cannot grant).
 * Known names are written in their canonical "CAP_X" form ("kill" → CAP_KILL).
 */
function filterCapabilities(c: Checker, caps: Capabilities): Capabilities {
  const out: Capabilities = { ...caps };
  for (const set of CAP_SETS) {
    const names = caps[set];
    if (!names) continue;
    const kept: string[] = [];
    for (const name of names) {
      const canonical = canonicalCapability(name);
      if (canonical === undefined) c.warn(['process', 'capabilities', set], `ignoring unknown capability "${name}"`);
      else if (!kept.includes(canonical)) kept.push(canonical);
    }
    out[set] = kept;
  }
  return out;
}

/** sched_setattr(2)'s rules, as runc applies them. */
function checkScheduler(c: Checker, s: Scheduler): void {
  const at = ['process', 'scheduler'];
  if ((s.policy === 'SCHED_OTHER' || s.policy === 'SCHED_BATCH') && s.nice !== undefined && (s.nice < -20 || s.nice > 19)) {
    c.fail([...at, 'nice'], `must be from -20 to 19 with ${s.policy}`);
  }
  if (s.priority !== undefined && s.priority !== 0 && s.policy !== 'SCHED_FIFO' && s.policy !== 'SCHED_RR') {
    c.fail([...at, 'priority'], 'is only allowed with SCHED_FIFO or SCHED_RR');
  }
  if (s.policy !== 'SCHED_DEADLINE') {
    for (const f of ['runtime', 'deadline', 'period'] as const) {
      const v = s[f];
      if (v !== undefined && toBigInt(v) !== 0n) c.fail([...at, f], 'is only allowed with SCHED_DEADLINE');
    }
  }
}
