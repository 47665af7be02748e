/**
 * Query parameters read as Docker reads them: booleans ("1", "true",
 * "True" … anything but "", "0", "no", "false", "none"), integers,
 * timestamps ("seconds[.nanoseconds]") and the `filters` argument, whose
 * JSON is {"label": {"a=b": true}} or, from old clients, {"label": ["a=b"]}.
 */
import { invalidArgument } from '../common/errors.js';

const FALSE_WORDS = new Set(['', '0', 'no', 'false', 'none']);

export function boolParam(q: URLSearchParams, key: string, dflt = false): boolean {
  const v = q.get(key);
  if (v === null) return dflt;
  return !FALSE_WORDS.has(v.trim().toLowerCase());
}

/** An integer parameter (absent or empty: dflt); anything else is a 400. */
export function intParam(q: URLSearchParams, key: string, dflt: number): number {
  const v = q.get(key);
  if (v === null || v.trim() === '') return dflt;
  if (!/^-?[0-9]+$/.test(v.trim())) throw invalidArgument(`invalid value for ${key}: ${JSON.stringify(v)} is not an integer`);
  return Number.parseInt(v, 10);
}

/** A "seconds[.nanoseconds]" timestamp as nanoseconds since the epoch (absent or empty: undefined). */
export function timestampParam(q: URLSearchParams, key: string): bigint | undefined {
  const v = q.get(key);
  if (v === null || v.trim() === '') return undefined;
  const m = /^(-?[0-9]+)(?:\.([0-9]{1,9}))?$/.exec(v.trim());
  if (!m) throw invalidArgument(`invalid value for ${key}: ${JSON.stringify(v)} is not a timestamp (seconds[.nanoseconds])`);
  const seconds = BigInt(m[1]!);
  const nanos = BigInt((m[2] ?? '').padEnd(9, '0') || '0');
  return seconds * 1_000_000_000n + (seconds < 0n ? -nanos : nanos);
}

/** Docker's filter arguments: each key holds a set of values. */
export class Filters {
  private readonly fields: Map<string, Set<string>>;

  constructor(fields: Map<string, Set<string>> = new Map()) {
    this.fields = fields;
  }

  keys(): string[] { return [...this.fields.keys()]; }
  has(key: string): boolean { return (this.fields.get(key)?.size ?? 0) > 0; }
  get(key: string): string[] { return [...(this.fields.get(key) ?? [])]; }
  get size(): number { return this.fields.size; }

  /** Refuses keys a route does not know, as `invalid filter 'x'`. */
  validate(accepted: readonly string[]): void {
    for (const k of this.fields.keys()) if (!accepted.includes(k)) throw invalidArgument(`invalid filter '${k}'`);
  }

  /** True when the key is not filtered on, or `value` is one of its values. */
  exact(key: string, value: string | undefined): boolean {
    if (!this.has(key)) return true;
    return value !== undefined && this.fields.get(key)!.has(value);
  }

  /** True when the key is not filtered on, or any candidate is one of its values. */
  anyExact(key: string, candidates: (string | undefined)[]): boolean {
    if (!this.has(key)) return true;
    return candidates.some((c) => c !== undefined && this.fields.get(key)!.has(c));
  }

  /**
   * Label-style matching: every value ("k", "k=v" or "k!=v") must hold for
   * `labels`.
   */
  matchLabels(key: string, labels: Record<string, string>): boolean {
    for (const want of this.fields.get(key) ?? []) {
      const ne = want.indexOf('!=');
      const eq = want.indexOf('=');
      if (ne > 0 && (eq < 0 || ne < eq)) {
        const k = want.slice(0, ne);
        if (k in labels && labels[k] === want.slice(ne + 2)) return false;
      } else if (eq > 0) {
        const k = want.slice(0, eq);
        if (!(k in labels) || labels[k] !== want.slice(eq + 1)) return false;
      } else if (!(want in labels)) {
        return false;
      }
    }
    return true;
  }

  /** The JSON form Docker sends ({"key": {"value": true}}). */
  toJSON(): Record<string, Record<string, boolean>> {
    const out: Record<string, Record<string, boolean>> = {};
    for (const [k, vs] of this.fields) out[k] = Object.fromEntries([...vs].map((v) => [v, true]));
    return out;
  }
}

/** Parses the `filters` query argument in its current or its old list form. */
export function parseFilters(text: string | null): Filters {
  const fields = new Map<string, Set<string>>();
  if (text === null || text.trim() === '') return new Filters(fields);
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (err) {
    throw invalidArgument(`invalid filters: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument('invalid filters: not a JSON object');
  for (const [key, v] of Object.entries(raw as Record<string, unknown>)) {
    const set = new Set<string>();
    if (Array.isArray(v)) {
      for (const item of v) {
        if (typeof item !== 'string') throw invalidArgument(`invalid filters: values of ${key} must be strings`);
        set.add(item);
      }
    } else if (v !== null && typeof v === 'object') {
      for (const [item, on] of Object.entries(v as Record<string, unknown>)) {
        if (typeof on !== 'boolean') throw invalidArgument(`invalid filters: ${key}.${item} must be true or false`);
        if (on) set.add(item);
      }
    } else {
      throw invalidArgument(`invalid filters: ${key} must be an object of values or a list`);
    }
    fields.set(key, set);
  }
  return new Filters(fields);
}
