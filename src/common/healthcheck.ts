/**
 * The HEALTHCHECK instruction, read the same way wherever Docker reads it:
 * a Dockerfile line (the builder) and a `--change` line of `import` and
 * `commit`. `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D]
 * [--retries=N] CMD <command>` or `HEALTHCHECK NONE`; durations are Go's
 * (`1m30s`), kept in nanoseconds as the image config holds them.
 */
import { invalidArgument } from './errors.js';

export interface HealthcheckSpec {
  test: string[];
  /** nanoseconds; 0: the default */
  interval: number;
  timeout: number;
  startPeriod: number;
  retries: number;
}

/** The image config's Healthcheck: zero fields left out, as dockerd writes it. */
export interface HealthcheckConfig { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number }

const FLAGS = ['interval', 'timeout', 'start-period', 'retries'];

/** Go's time.ParseDuration for the units healthchecks use; nanoseconds. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let rest = text;
  if (rest === '') throw invalidArgument(`time: invalid duration ""`);
  while (rest !== '') {
    const m = /^([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw invalidArgument(`time: invalid duration "${text}"`);
    total += Number(m[1]) * unit[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

/**
 * The instruction's arguments (`flags` already split off, `rest` after
 * them); `asJson` reads the exec form the caller's way. Errors carry the
 * bare reason: the caller names the line.
 */
export function parseHealthcheck(flags: ReadonlyMap<string, string>, rest: string, asJson: (text: string) => string[] | undefined): HealthcheckSpec | 'none' {
  for (const f of flags.keys()) if (!FLAGS.includes(f)) throw invalidArgument(`unknown flag: ${f}`);
  const word = rest.split(/\s+/)[0] ?? '';
  const type = word.toUpperCase();
  if (type === 'NONE') {
    if (rest.slice(word.length).trim() !== '' || flags.size > 0) throw invalidArgument('HEALTHCHECK NONE takes no arguments');
    return 'none';
  }
  if (type !== 'CMD') throw invalidArgument(`Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  const cmdText = rest.slice(word.length).trim();
  if (cmdText === '') throw invalidArgument('Missing command after HEALTHCHECK CMD');
  const exec = asJson(cmdText);
  const dur = (k: string): number => {
    const v = flags.get(k);
    if (v === undefined || v === '') return 0;
    const d = parseDuration(v);
    if (d < 1e6 && d !== 0) throw invalidArgument(`Interval "${k}" cannot be less than 1ms`);
    return d;
  };
  const retries = flags.get('retries');
  if (retries !== undefined && !/^[0-9]+$/.test(retries)) throw invalidArgument(`invalid --retries value: ${retries}`);
  return {
    test: exec ? ['CMD', ...exec] : ['CMD-SHELL', cmdText],
    interval: dur('interval'), timeout: dur('timeout'), startPeriod: dur('start-period'), retries: Number(retries ?? '0'),
  };
}

/** The config's form of a parsed HEALTHCHECK (NONE: Test ["NONE"]). */
export function healthcheckConfig(spec: HealthcheckSpec | 'none'): HealthcheckConfig {
  const s = spec === 'none' ? { test: ['NONE'], interval: 0, timeout: 0, startPeriod: 0, retries: 0 } : spec;
  const c: HealthcheckConfig = { Test: s.test };
  if (s.interval) c.Interval = s.interval;
  if (s.timeout) c.Timeout = s.timeout;
  if (s.startPeriod) c.StartPeriod = s.startPeriod;
  if (s.retries) c.Retries = s.retries;
  return c;
}

/** `--name=value` words at the start of a `--change` line's arguments, and the text after them. */
export function leadingFlags(text: string): { flags: Map<string, string>; rest: string } {
  const flags = new Map<string, string>();
  let rest = text.trim();
  for (;;) {
    const m = /^--([a-z-]+)=(\S*)\s*/.exec(rest);
    if (!m) return { flags, rest };
    flags.set(m[1]!, m[2]!);
    rest = rest.slice(m[0].length);
  }
}
