/**
 * Docker's human units: durations ("About a minute", "2 hours"), decimal
 * sizes ("1.98MB"), binary sizes for flags ("512m" → 536870912), short IDs.
 */

/** How long ago, in Docker's words, without the " ago". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** "<duration> ago" for a Unix time in seconds, measured from `nowMs`. */
export function ago(unixSeconds: number, nowMs = Date.now()): string {
  return `${humanDuration(nowMs - unixSeconds * 1000)} ago`;
}

/** Go's %.<digits>g: that many significant digits, no trailing zeros. */
function gDigits(n: number, digits: number): string {
  if (n === 0) return '0';
  const s = n.toPrecision(digits);
  return s.includes('e') ? s : s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
const g3 = (n: number): string => gDigits(n, 3);

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Docker's HumanSize: decimal units, three significant digits ("1.98MB", "0B"). */
export function humanSize(bytes: number): string {
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < DECIMAL.length - 1) { n /= 1000; i++; }
  return `${g3(n)}${DECIMAL[i]}`;
}

/** Docker's units.HumanSize: decimal units, four significant digits ("1.984MB"), as `system df` and `stats` show sizes. */
export function humanSize4(bytes: number): string {
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < DECIMAL.length - 1) { n /= 1000; i++; }
  return `${gDigits(n, 4)}${DECIMAL[i]}`;
}

/** Docker's units.BytesSize: binary units, four significant digits ("23.54GiB"), as `stats` shows memory. */
export function bytesSize(bytes: number): string {
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < BINARY.length - 1) { n /= 1024; i++; }
  return `${gDigits(n, 4)}${BINARY[i]}`;
}

/**
 * A size flag in Docker's grammar (`512m`, `1g`, `100k`, `2b`, `1.5GB`):
 * binary multiples, case-insensitive, an optional trailing "b".
 */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = ['', 'k', 'm', 'g', 't', 'p'].indexOf((m[2] ?? '').toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** unit);
}

/** The 12-character short form of an ID (a "sha256:" prefix dropped). */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Docker's Ellipsis: at most `max` characters, the last one "…" when cut. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  return max <= 1 ? chars.slice(0, max).join('') : `${chars.slice(0, max - 1).join('')}…`;
}

/** Go's time.Time.String() of a Unix time, in the local zone ("2026-11-29 16:15:17 +0000 UTC"). */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value ?? '';
  const zoneName = zone === 'GMT' || zone === 'UTC' ? 'UTC' : zone;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} `
    + `${sign}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)} ${zoneName}`;
}

/**
 * A time flag (`--since`/`--until`): RFC 3339 dates, Unix seconds (with
 * fractions), or a Go duration relative to now ("10m", "1h30m"), as Docker
 * accepts them; returns the seconds string the API wants.
 */
export function parseTimeFlag(value: string, nowMs = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const dur = parseGoDuration(value);
  if (dur !== undefined) return ((nowMs - dur) / 1000).toFixed(9).replace(/\.?0+$/, '');
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new Error(`invalid time ${JSON.stringify(value)}`);
  // seconds.nanoseconds as the docker CLI sends them: Date keeps only
  // milliseconds, and `logs --since <a line's timestamp>` must be exact
  const frac = /T\d{2}:\d{2}:\d{2}\.(\d+)/.exec(value)?.[1] ?? '';
  return `${Math.floor(t / 1000)}.${frac.slice(0, 9).padEnd(9, '0')}`;
}

/** A Go duration ("1h30m", "10s", "500ms") in milliseconds, or undefined. */
export function parseGoDuration(value: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) return undefined;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}
