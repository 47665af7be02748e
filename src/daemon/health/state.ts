/**
 * A container's health as inspect shows it (State.Health) and the rules
 * that move it: a success makes it healthy and clears the streak; a
 * failure counts unless it falls in the start period while still
 * starting; `retries` failures in a row make it unhealthy. The last five
 * results are kept.
 */

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthResult { Start: string; End: string; ExitCode: number; Output: string }

export interface Health { Status: HealthStatus; FailingStreak: number; Log: HealthResult[] }

export const MAX_LOG_ENTRIES = 5;
/** Docker keeps at most this much of a probe's output. */
export const MAX_OUTPUT = 4096;

export function newHealth(): Health {
  return { Status: 'starting', FailingStreak: 0, Log: [] };
}

/** Applies a result; returns the new status when it changed. */
export function applyResult(h: Health, r: HealthResult, inStartPeriod: boolean, retries: number): HealthStatus | undefined {
  const before = h.Status;
  h.Log.push(r);
  if (h.Log.length > MAX_LOG_ENTRIES) h.Log.splice(0, h.Log.length - MAX_LOG_ENTRIES);
  if (r.ExitCode === 0) {
    h.FailingStreak = 0;
    h.Status = 'healthy';
  } else if (!(inStartPeriod && h.Status === 'starting')) {
    h.FailingStreak++;
    if (h.FailingStreak >= retries) h.Status = 'unhealthy';
  }
  return h.Status !== before ? h.Status : undefined;
}

/** ps's status suffix: " (healthy)", " (health: starting)", " (unhealthy)". */
export function statusSuffix(s: HealthStatus): string {
  return s === 'starting' ? ' (health: starting)' : ` (${s})`;
}

const STATUSES: readonly string[] = ['starting', 'healthy', 'unhealthy'];

/** A stored State.Health read back; anything not of its shape is no health at all. */
export function parseHealth(raw: unknown): Health | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const h = raw as Record<string, unknown>;
  if (typeof h.Status !== 'string' || !STATUSES.includes(h.Status) || typeof h.FailingStreak !== 'number' || !Array.isArray(h.Log)) return undefined;
  const log = h.Log.filter((r): r is HealthResult => r !== null && typeof r === 'object' && typeof (r as HealthResult).ExitCode === 'number');
  return { Status: h.Status as HealthStatus, FailingStreak: h.FailingStreak, Log: log.slice(-MAX_LOG_ENTRIES) };
}
