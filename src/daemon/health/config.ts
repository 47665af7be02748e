/**
 * A container's Healthcheck (Docker's Config.Healthcheck, durations in ns)
 * with Docker's defaults: interval 30s, timeout 30s, retries 3, no start
 * period, start interval 5s; Test ["NONE"] (or none at all) disables it.
 */

export interface HealthConfig {
  /** the command run as an exec in the container */
  cmd: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_START_INTERVAL_MS = 5_000;
const DEFAULT_RETRIES = 3;

const nsToMs = (v: unknown, dflt: number): number => (typeof v === 'number' && v > 0 ? Math.max(1, Math.round(v / 1e6)) : dflt);

/** The check to run, or undefined when the container has none. */
export function healthConfig(raw: unknown): HealthConfig | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const h = raw as Record<string, unknown>;
  const test = Array.isArray(h.Test) ? h.Test.filter((x): x is string => typeof x === 'string') : [];
  if (test.length === 0 || test[0] === 'NONE') return undefined;
  let cmd: string[];
  if (test[0] === 'CMD') cmd = test.slice(1);
  else if (test[0] === 'CMD-SHELL') cmd = ['/bin/sh', '-c', test.slice(1).join(' ')];
  else cmd = ['/bin/sh', '-c', test.join(' ')]; // an old client's bare command line
  if (cmd.length === 0) return undefined;
  return {
    cmd,
    intervalMs: nsToMs(h.Interval, DEFAULT_INTERVAL_MS),
    timeoutMs: nsToMs(h.Timeout, DEFAULT_TIMEOUT_MS),
    startPeriodMs: nsToMs(h.StartPeriod, 0),
    startIntervalMs: nsToMs(h.StartInterval, DEFAULT_START_INTERVAL_MS),
    retries: typeof h.Retries === 'number' && h.Retries > 0 ? h.Retries : DEFAULT_RETRIES,
  };
}
