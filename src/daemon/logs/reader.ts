/**
 * Reading a container's json-file log (and its rotated files: name.N …
 * name.1, name) for `docker logs`: whole, from a time, up to a time, the
 * last N lines, and following new lines until the container stops.
 *
 * Speed: files are read in 1 MiB blocks, and each block decoded at once
 * by block.ts (fixed-position scan, text unescaped into one buffer, runs
 * of one stream merged into one record when asked); records are handed
 * out one block at a time (an array), so a 100 MB log costs about a
 * hundred awaits and a few hundred records, not millions. `tail` reads blocks backwards from the end of the
 * newest file, counting newlines, and starts there.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { decodeBlock, type BlockQuery } from './block.js';
import type { LogEntry } from './entry.js';

const BLOCK = 1 << 20;

/** since/until (ns since the epoch) are inclusive; see block.ts for merge and timestamps. */
export interface LogQuery extends BlockQuery {
  /** the last N lines only; undefined: all */
  tail?: number;
  follow: boolean;
}

/** The log's files, oldest first. */
export function logFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; existsSync(`${path}.${i}`); i++) rotated.unshift(`${path}.${i}`);
  return existsSync(path) ? [...rotated, path] : rotated;
}

/** Where reading starts; `size`: the file's length when the tail was counted (reading stops there unless following). */
interface Start { file: number; offset: number; size?: number }

/**
 * Counts newlines backwards from the end of fd: the offset where the last
 * `n` complete lines begin, or -1 and the number of complete lines when
 * the file holds fewer. The last newline ends the last complete line (a
 * partial line after it is being written and is not counted).
 */
function tailOffset(fd: number, size: number, n: number): { offset: number; lines: number } {
  const buf = Buffer.allocUnsafe(BLOCK);
  let end = size;
  let newlines = 0;
  while (end > 0) {
    const start = Math.max(0, end - BLOCK);
    const len = readSync(fd, buf, 0, end - start, start);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) continue;
      newlines++;
      // the (n+1)-th newline from the end closes the line before the last n
      if (newlines === n + 1) return { offset: start + i + 1, lines: n };
    }
    end = start;
  }
  return { offset: -1, lines: newlines };
}

/** Where reading starts for the last `n` lines across the files (newest file first). */
function tailStart(files: string[], n: number): Start {
  const last = files.length - 1;
  if (n <= 0) { const size = statSync(files[last]!).size; return { file: last, offset: size, size }; }
  let need = n;
  for (let f = last; f >= 0; f--) {
    const fd = openSync(files[f]!, 'r');
    try {
      const size = fstatSync(fd).size;
      const { offset, lines } = tailOffset(fd, size, need);
      if (offset >= 0) return f === last ? { file: f, offset, size } : { file: f, offset };
      need -= lines;
      if (need <= 0) return { file: f, offset: 0 };
    } finally { closeSync(fd); }
  }
  return { file: 0, offset: 0 };
}

/**
 * Reads from fd at offset to its end (or to `end`), complete lines only;
 * returns the entries and the offset after the last newline.
 */
function readLines(fd: number, offset: number, q: LogQuery, buf: Buffer, end = Infinity): { entries: LogEntry[]; offset: number; eof: boolean } {
  const want = Math.min(buf.length, end - offset);
  // entries point into decodeBlock's own output buffer, so the read buffer is reused
  const len = want > 0 ? readSync(fd, buf, 0, want, offset) : 0;
  if (len === 0) return { entries: [], offset, eof: true };
  const { entries, consumed } = decodeBlock(buf, len, q);
  if (consumed === 0 && len === buf.length) {
    // a single line longer than the block: skip it (docker caps lines too)
    return { entries, offset: offset + len, eof: false };
  }
  // a line cut at the end (still being written, or cut by `end`) is left for a later read
  return { entries, offset: offset + consumed, eof: len < want || consumed === 0 };
}

function inode(path: string): number | undefined {
  try { return statSync(path).ino; } catch { return undefined; }
}

/** Resolves after `ms`, or earlier when the file changes or `stop` fires. */
function nextChange(path: string, ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let w: FSWatcher | undefined;
    const done = (): void => { clearTimeout(t); w?.close(); stop.removeEventListener('abort', done); resolve(); };
    const t = setTimeout(done, ms);
    try { w = watch(path, done); w.on('error', done); } catch { /* polled */ }
    stop.addEventListener('abort', done);
  });
}

/**
 * The log's entries passing the query, one block at a time. With `follow`,
 * new lines are read as they come until `stop` aborts (the client left or
 * the container stopped); the rest written before the stop is read first.
 */
export async function* readLog(path: string, q: LogQuery, stop: AbortSignal): AsyncGenerator<LogEntry[]> {
  const files = logFiles(path);
  let start: Start = q.tail !== undefined && q.tail >= 0 && files.length > 0 ? tailStart(files, q.tail) : { file: 0, offset: 0 };
  const buf = Buffer.allocUnsafe(BLOCK);
  for (let f = start.file; f < files.length - 1; f++) {
    const fd = openSync(files[f]!, 'r');
    try {
      let off = f === start.file ? start.offset : 0;
      for (;;) {
        const r = readLines(fd, off, q, buf);
        off = r.offset;
        if (r.entries.length > 0) yield r.entries;
        if (r.eof || stop.aborted) break;
      }
    } catch { /* rotated away meanwhile */ } finally { closeSync(fd); }
  }
  start = files.length > 0 && start.file === files.length - 1 ? start : { file: files.length - 1, offset: 0 };
  // the current file, then (following) whatever it becomes
  let fd: number | undefined;
  let ino: number | undefined;
  let off = start.offset;
  const open = (): void => { try { fd = openSync(path, 'r'); ino = fstatSync(fd).ino; } catch { fd = undefined; } };
  open();
  // without following, the log is read as it stood when the call came (as dockerd reads a section of
  // the file): lines the container writes meanwhile do not join a `--tail N`, which would give N+1
  let end = Infinity;
  if (!q.follow && fd !== undefined) end = start.size ?? fstatSync(fd).size;
  try {
    for (;;) {
      if (fd !== undefined) {
        for (;;) {
          const r = readLines(fd, off, q, buf, end);
          off = r.offset;
          if (r.entries.length > 0) yield r.entries;
          if (r.eof) break;
        }
      }
      if (!q.follow || stop.aborted) return;
      await nextChange(path, 250, stop);
      if (stop.aborted) {
        // the container stopped: what it wrote last is still read
        if (fd !== undefined) for (;;) { const r = readLines(fd, off, q, buf); off = r.offset; if (r.entries.length > 0) yield r.entries; if (r.eof) break; }
        return;
      }
      const now = inode(path);
      if (now !== ino) {
        // rotated: the old file's rest, then the new file from its start
        if (fd !== undefined) {
          for (;;) { const r = readLines(fd, off, q, buf); off = r.offset; if (r.entries.length > 0) yield r.entries; if (r.eof) break; }
          closeSync(fd);
        }
        fd = undefined;
        off = 0;
        open();
      } else if (fd !== undefined && fstatSync(fd).size < off) {
        off = 0; // truncated (max-file 1)
      }
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
