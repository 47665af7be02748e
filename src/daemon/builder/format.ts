/**
 * Go's fmt verbs as dockerd's builder uses them in history comments
 * (`CMD %q`, `VOLUME %v`, `HEALTHCHECK %q` of its struct), so `docker
 * history` reads the same.
 */

/** Go's %q of a string (strconv.Quote, for the printable text Dockerfiles hold). */
export const goQuote = (s: string): string => JSON.stringify(s).replace(/\\u00([0-9a-f]{2})/g, '\\x$1');

/** Go's %q of a []string: `["a" "b"]`. */
export const goQuoteList = (a: readonly string[]): string => `[${a.map(goQuote).join(' ')}]`;

/** Go's %v of a []string: `[a b]`. */
export const goList = (a: readonly string[]): string => `[${a.join(' ')}]`;

/** Go's time.Duration.String() of nanoseconds. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trim(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trim(ns / 1e6)}ms`;
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = `${trim(Math.round(s * 1e9) / 1e9)}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

const trim = (n: number): string => String(Number(n.toFixed(9)));

/** Go's %q of an int: a rune literal ('\x02', 'A'). */
export function goRune(n: number): string {
  if (n === 0x27) return "'\\''";
  if (n === 0x5c) return "'\\\\'";
  if (n >= 0x20 && n < 0x7f) return `'${String.fromCharCode(n)}'`;
  if (n === 7) return "'\\a'";
  if (n === 8) return "'\\b'";
  if (n === 9) return "'\\t'";
  if (n === 10) return "'\\n'";
  if (n === 11) return "'\\v'";
  if (n === 12) return "'\\f'";
  if (n === 13) return "'\\r'";
  if (n < 0x80) return `'\\x${n.toString(16).padStart(2, '0')}'`;
  return `'${String.fromCodePoint(n)}'`;
}
