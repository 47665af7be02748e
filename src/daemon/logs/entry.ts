/**
 * One json-file log line, decoded by a byte scan instead of JSON.parse.
 * The shim writes every entry in one fixed shape (native/shim/jsonlog.c):
 *   {"log":"<escaped>","stream":"stdout|stderr","time":"<RFC 3339>"}\n
 * so the stream and the time are found from the end of the line, and the
 * text needs unescaping only when it holds a backslash (most lines do not:
 * their bytes are copied as they are). Lines of another shape (docker's own
 * json-file, fields in another order) fall back to JSON.parse.
 */

export type LogStream = 'stdout' | 'stderr';

export interface LogEntry {
  stream: LogStream;
  /** RFC 3339 with nanoseconds, as written */
  time: string;
  data: Buffer;
}

const HEAD = Buffer.from('{"log":"');
const MID_STREAM = Buffer.from('","stream":"');
const MID_TIME = Buffer.from('","time":"');
const BACKSLASH = 0x5c;

function slowParse(line: Buffer): LogEntry | undefined {
  try {
    const e = JSON.parse(line.toString('utf8')) as { log?: unknown; stream?: unknown; time?: unknown };
    if (typeof e.log !== 'string') return undefined;
    return { stream: e.stream === 'stderr' ? 'stderr' : 'stdout', time: typeof e.time === 'string' ? e.time : '', data: Buffer.from(e.log, 'utf8') };
  } catch {
    return undefined; // a damaged line (a full disk cut it): skipped, as docker's reader does
  }
}

const SIMPLE_ESCAPES: Record<number, number> = { 0x6e: 0x0a, 0x74: 0x09, 0x72: 0x0d, 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c };

/**
 * The text of a JSON string body: the bytes themselves when nothing is
 * escaped; the one-letter escapes (nearly every line ends in `\n`) undone
 * in a byte loop; JSON.parse only for a body holding a \u escape.
 */
function unescape(body: Buffer): Buffer {
  let i = body.indexOf(BACKSLASH);
  if (i < 0) return body;
  const out = Buffer.allocUnsafe(body.length);
  body.copy(out, 0, 0, i);
  let o = i;
  while (i < body.length) {
    const c = body[i]!;
    if (c !== BACKSLASH) { out[o++] = c; i++; continue; }
    const r = SIMPLE_ESCAPES[body[i + 1]!];
    if (r === undefined) return Buffer.from(JSON.parse(`"${body.toString('utf8')}"`) as string, 'utf8');
    out[o++] = r;
    i += 2;
  }
  return out.subarray(0, o);
}

/** Decodes one line (without its newline); undefined for a line that is not an entry. */
export function parseEntry(line: Buffer): LogEntry | undefined {
  const n = line.length;
  if (n < HEAD.length + 4 || line[n - 1] !== 0x7d || line[n - 2] !== 0x22 || line.compare(HEAD, 0, HEAD.length, 0, HEAD.length) !== 0) return slowParse(line);
  const t = line.lastIndexOf(MID_TIME, n - 2);
  if (t < 0) return slowParse(line);
  const s = line.lastIndexOf(MID_STREAM, t);
  if (s < HEAD.length) return slowParse(line);
  const stream = line.toString('latin1', s + MID_STREAM.length, t);
  if (stream !== 'stdout' && stream !== 'stderr') return slowParse(line);
  const body = line.subarray(HEAD.length, s);
  // the body cannot hold an unescaped quote, so the first `","stream":"` found from the end is the real one
  return { stream, time: line.toString('latin1', t + MID_TIME.length, n - 2), data: unescape(body) };
}

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits (0n when unreadable). */
export function timeNs(rfc3339: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!m) return 0n;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return 0n;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
