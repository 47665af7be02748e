/**
 * Decoding a block of json-file lines straight into output bytes, for
 * `docker logs` of big logs. entry.ts decodes one line into one object;
 * here a whole block is scanned once: each line of the shim's shape
 *   {"log":"<escaped>","stream":"stdout|stderr","time":"<RFC 3339>"}\n
 * is recognised by fixed byte positions (the time is found from the end,
 * and a body cannot hold an unescaped quote), its text unescaped into one
 * output buffer, and consecutive lines of the same stream become one
 * record (when `merge`), so a 100 MB log of short lines is a few hundred
 * records, not millions of objects. Lines of any other shape go through
 * entry.ts's parseEntry (JSON.parse), so nothing readable is lost.
 */
import { parseEntry, timeNs, type LogEntry, type LogStream } from './entry.js';

export interface BlockQuery {
  stdout: boolean;
  stderr: boolean;
  sinceNs?: bigint;
  untilNs?: bigint;
  /** consecutive entries of one stream become one record (time: the first's) */
  merge?: boolean;
  /** each entry's text is preceded by its time and a space, as `docker logs -t` prints it */
  timestamps?: boolean;
}

const Q = 0x22;
const BACKSLASH = 0x5c;
const HEAD = Buffer.from('{"log":"');
const MID_STREAM = Buffer.from('","stream":"');
const MID_TIME = Buffer.from('","time":"');
const STDOUT = Buffer.from('stdout');
const STDERR = Buffer.from('stderr');
// the shortest line of the shape: empty body, 6-letter stream, a one-byte time
const MIN_LINE = HEAD.length + MID_STREAM.length + 6 + MID_TIME.length + 1 + 2;
/** Length of the shim's times: YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ */
const SHIM_TIME = 30;
/** Bodies longer than this are copied by memchr/memcpy rather than byte by byte. */
const LONG_BODY = 96;

const ESCAPES = new Int16Array(256).fill(-1);
for (const [k, v] of [[0x6e, 0x0a], [0x74, 0x09], [0x72, 0x0d], [0x22, 0x22], [0x5c, 0x5c], [0x2f, 0x2f], [0x62, 0x08], [0x66, 0x0c]] as const) ESCAPES[k] = v;

function same(src: Buffer, at: number, c: Buffer): boolean {
  for (let i = 0; i < c.length; i++) if (src[at + i] !== c[i]) return false;
  return true;
}

/** The stream of the 6 bytes at `at`: 1 stdout, 2 stderr, 0 neither. */
function streamAt(src: Buffer, at: number): number {
  if (same(src, at, STDOUT)) return 1;
  if (same(src, at, STDERR)) return 2;
  return 0;
}

/**
 * Nanoseconds of an RFC 3339 time, fast for the shim's UTC shape
 * (`YYYY-MM-DDTHH:MM:SS.fffffffffZ`): the seconds are parsed once per
 * distinct second (consecutive lines share it), the fraction by hand;
 * any other shape goes to entry.ts's timeNs.
 */
class TimeParser {
  private prefix = '';
  private secondsNs = 0n;

  ns(src: Buffer, start: number, end: number): bigint {
    const text = src.toString('latin1', start, end);
    if (text.length < 21 || text.charCodeAt(19) !== 0x2e || text.charCodeAt(text.length - 1) !== 0x5a || text.length > 30) return timeNs(text);
    const prefix = text.slice(0, 19);
    if (prefix !== this.prefix) {
      const whole = timeNs(`${prefix}Z`);
      if (whole === 0n) return timeNs(text);
      this.prefix = prefix;
      this.secondsNs = whole;
    }
    let frac = 0;
    let digits = 0;
    for (let i = 20; i < text.length - 1; i++) {
      const d = text.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return timeNs(text);
      frac = frac * 10 + d;
      digits++;
    }
    for (; digits < 9; digits++) frac *= 10;
    return this.secondsNs + BigInt(frac);
  }
}

/** Output of one block: records pointing into one buffer. */
class Records {
  readonly list: LogEntry[] = [];
  private runStream: LogStream | undefined;
  private runStart = 0;
  private runTime = '';
  o = 0;

  constructor(readonly out: Buffer, private readonly merge: boolean) {}

  /** Starts an entry at the current output position. */
  begin(stream: LogStream, time: () => string): void {
    if (this.merge && stream === this.runStream) return;
    this.close();
    this.runStream = stream;
    this.runStart = this.o;
    this.runTime = time();
  }

  close(): void {
    if (this.runStream !== undefined && this.o > this.runStart) {
      this.list.push({ stream: this.runStream, time: this.runTime, data: this.out.subarray(this.runStart, this.o) });
    }
    this.runStream = undefined;
  }
}

/**
 * Copies a JSON string body [from, to) of src into out at o, unescaped;
 * returns the new output position, or -1 when the body holds an escape
 * the byte loop does not know (\u…): the caller takes the slow path.
 */
function unescapeInto(src: Buffer, from: number, to: number, out: Buffer, o: number): number {
  if (to - from > LONG_BODY) {
    let i = from;
    while (i < to) {
      let b = src.indexOf(BACKSLASH, i);
      if (b < 0 || b >= to) b = to;
      o += src.copy(out, o, i, b);
      if (b === to) break;
      const r = ESCAPES[src[b + 1]!]!;
      if (r < 0 || b + 1 >= to) return -1;
      out[o++] = r;
      i = b + 2;
    }
    return o;
  }
  for (let i = from; i < to; i++) {
    const c = src[i]!;
    if (c !== BACKSLASH) { out[o++] = c; continue; }
    const r = ESCAPES[src[++i]!]!;
    if (r < 0 || i >= to) return -1;
    out[o++] = r;
  }
  return o;
}

function wanted(stream: number | LogStream, q: BlockQuery): boolean {
  return stream === 1 || stream === 'stdout' ? q.stdout : q.stderr;
}

function inRange(ns: bigint, q: BlockQuery): boolean {
  // inclusive at both ends, as dockerd's json-file reader (an entry stamped exactly `until` is shown)
  return !(q.sinceNs !== undefined && ns < q.sinceNs) && !(q.untilNs !== undefined && ns > q.untilNs);
}

/** One line of another shape (or with a \u escape): decoded by entry.ts, then copied out. */
function slowLine(line: Buffer, q: BlockQuery, rec: Records): void {
  const e = parseEntry(line);
  if (!e || !wanted(e.stream, q)) return;
  if ((q.sinceNs !== undefined || q.untilNs !== undefined) && !inRange(timeNs(e.time), q)) return;
  const prefix = q.timestamps ? Buffer.from(`${e.time} `, 'latin1') : undefined;
  // a JSON text is never shorter than what it decodes to, so out (sized to the block) has room
  if (rec.o + (prefix?.length ?? 0) + e.data.length > rec.out.length) return;
  rec.begin(e.stream, () => e.time);
  if (prefix) rec.o += prefix.copy(rec.out, rec.o);
  rec.o += e.data.copy(rec.out, rec.o);
}

export interface BlockResult { entries: LogEntry[]; consumed: number }

/**
 * Decodes the complete lines of src[0, len) passing the query; `consumed`
 * is the offset after the last newline (a partial line is left for the
 * next read).
 */
export function decodeBlock(src: Buffer, len: number, q: BlockQuery): BlockResult {
  const rec = new Records(Buffer.allocUnsafe(len), q.merge === true);
  const times = q.sinceNs !== undefined || q.untilNs !== undefined ? new TimeParser() : undefined;
  let at = 0;
  for (;;) {
    const nl = src.indexOf(0x0a, at);
    if (nl < 0 || nl >= len) break;
    const a = at;
    at = nl + 1;
    if (nl === a) continue;
    if (nl - a < MIN_LINE || src[nl - 1] !== 0x7d || src[nl - 2] !== Q || !same(src, a, HEAD)) { slowLine(src.subarray(a, nl), q, rec); continue; }
    // the time: the shim's is always 30 bytes (nanoseconds, Z); else back from the closing quote to its opening one
    let t = nl - 3 - SHIM_TIME;
    if (t <= a || src[t] !== Q) { t = nl - 3; while (t > a && src[t] !== Q) t--; }
    const s = t - MID_TIME.length + 1 - 6; // the stream's first byte
    const m = s - MID_STREAM.length; // where the body ends
    if (m < a + HEAD.length || !same(src, t - MID_TIME.length + 1, MID_TIME) || !same(src, m, MID_STREAM)) { slowLine(src.subarray(a, nl), q, rec); continue; }
    const stream = streamAt(src, s);
    if (stream === 0) { slowLine(src.subarray(a, nl), q, rec); continue; }
    if (!wanted(stream, q)) continue;
    if (times && !inRange(times.ns(src, t + 1, nl - 2), q)) continue;
    const mark = rec.o;
    rec.begin(stream === 1 ? 'stdout' : 'stderr', () => src.toString('latin1', t + 1, nl - 2));
    if (q.timestamps) {
      rec.o += src.copy(rec.out, rec.o, t + 1, nl - 2);
      rec.out[rec.o++] = 0x20;
    }
    const o = unescapeInto(src, a + HEAD.length, m, rec.out, rec.o);
    if (o >= 0) { rec.o = o; continue; }
    rec.o = mark; // an escape only JSON.parse knows: this line again, the slow way
    slowLine(src.subarray(a, nl), q, rec);
  }
  rec.close();
  return { entries: rec.list, consumed: at };
}
