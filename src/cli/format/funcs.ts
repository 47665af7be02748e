/**
 * The functions Docker adds to its templates (json, join, split, lower,
 * upper, title, truncate, pad, println …) and Go's builtins (printf, print,
 * len, index, and/or/not, eq/ne/lt/le/gt/ge), with Go's results.
 */
import { formatValue, sprint, sprintf, sprintln } from './gofmt.js';
import { truthy, type TemplateFunc } from './template.js';

/** encoding/json as Go writes it: HTML characters escaped, no trailing newline. */
export function goJson(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v) ?? 'null';
  return s.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : formatValue(v);
}

function compare(a: unknown, b: unknown): number {
  if (typeof a !== typeof b) throw new Error('incompatible types for comparison');
  if (typeof a === 'number' || typeof a === 'string') return a < (b as typeof a) ? -1 : a > (b as typeof a) ? 1 : 0;
  throw new Error('invalid type for comparison');
}

function index(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (Array.isArray(v)) {
      if (typeof k !== 'number' || k < 0 || k >= v.length) throw new Error(`index out of range: ${formatValue(k)}`);
      v = v[k];
    } else if (v && typeof v === 'object') {
      // a missing map key gives the zero value, as Go's index does
      v = (v as Record<string, unknown>)[String(k)];
      if (v === undefined) return '';
    } else if (v === null || v === undefined) {
      throw new Error('index of untyped nil');
    } else throw new Error(`can't index item of type ${typeof v}`);
  }
  return v;
}

function length(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.keys(v).length;
  throw new Error(`len of type ${typeof v}`);
}

/** strings.Title: the first letter of every word upper-cased. */
function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

/** Docker's truncate: at most n characters (runes), no ellipsis. */
function truncate(s: unknown, n: unknown): string {
  const chars = [...str(s)];
  return typeof n === 'number' && chars.length > n ? chars.slice(0, n).join('') : chars.join('');
}

/** The function map every `--format` gets. */
export function templateFuncs(): Record<string, TemplateFunc> {
  return {
    json: (v) => goJson(v),
    join: (list, sep) => (Array.isArray(list) ? list.map(str) : []).join(str(sep)),
    split: (s, sep) => str(s).split(str(sep)),
    lower: (s) => str(s).toLowerCase(),
    upper: (s) => str(s).toUpperCase(),
    title: (s) => title(str(s)),
    truncate,
    pad: (s, l, r) => `${' '.repeat(Number(l))}${str(s)}${' '.repeat(Number(r))}`,
    println: (...a) => sprintln(a),
    print: (...a) => sprint(a),
    printf: (f, ...a) => sprintf(str(f), a),
    len: length,
    index,
    slice: (v, i, j) => (typeof v === 'string' || Array.isArray(v) ? v.slice(Number(i ?? 0), j === undefined ? undefined : Number(j)) : v),
    not: (v) => !truthy(v),
    and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
    or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
    eq: (a, ...bs) => bs.some((b) => a === b),
    ne: (a, b) => a !== b,
    lt: (a, b) => compare(a, b) < 0,
    le: (a, b) => compare(a, b) <= 0,
    gt: (a, b) => compare(a, b) > 0,
    ge: (a, b) => compare(a, b) >= 0,
  };
}
