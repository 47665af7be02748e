/**
 * Attach with logs: a process's json-file log replayed up to the moment the
 * shim took the attacher, then its live output, meeting exactly.
 *
 * The shim says where the seam is (src/shim/protocol.ts, LOG_POS and
 * PENDING_*): its log up to a position (a file named by its inode, and a
 * length), then bytes of lines not complete yet; the first live frame
 * follows them. This module reads the log up to that position, across
 * rotated files (name.N … name.1, name).
 *
 * Rotation renames files while they are read. The files are opened newest
 * first and held open, so one whose inode is held cannot be another file;
 * the pass counts only when the log's generation did not move while it ran
 * (a rotation during it could list a newer file after an older one), and it
 * is tried again otherwise. The seam's file is then found by its inode; a
 * log that rotated more than it keeps since the attach (or, with max-file 1,
 * was emptied) has lost that output, as it would for any reader.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';

export type StreamName = 'stdout' | 'stderr';

export interface LogChunk {
  stream: StreamName;
  data: Buffer;
}

/** The shim's LOG_POS (src/shim/attach.ts LogPosition). */
export interface LogPosition {
  generation: number;
  inode: bigint;
  offset: number;
  maxFile: number;
}

/** The log's files, oldest first: name.N … name.1, name (json-file rotation). */
export function logFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; existsSync(`${path}.${i}`); i++) rotated.unshift(`${path}.${i}`);
  return existsSync(path) ? [...rotated, path] : rotated;
}

/** The entries of json-file logs, in order; a line not yet complete (being written) is left out. */
export function parseJsonLog(text: string): LogChunk[] {
  const out: LogChunk[] = [];
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or an entry still being written
  for (const line of lines) {
    if (line === '') continue;
    try {
      const e = JSON.parse(line) as { log?: unknown; stream?: unknown };
      if (typeof e.log !== 'string') continue;
      out.push({ stream: e.stream === 'stderr' ? 'stderr' : 'stdout', data: Buffer.from(e.log, 'utf8') });
    } catch {
      // a damaged line (a full disk cut it): skipped, as docker's reader does
    }
  }
  return out;
}

/** Every entry of the log at path and its rotated files (a stopped process: nothing more comes). */
export function readJsonLog(path: string): LogChunk[] {
  return logFiles(path).flatMap((f) => {
    try { return parseJsonLog(readFileSync(f, 'utf8')); } catch { return []; }
  });
}

interface HeldFile { fd: number; inode: bigint; size: number }

/** Opens name, name.1, … (newest first) until one is missing; the same file twice (renamed meanwhile) is held once. */
function openNewestFirst(path: string): HeldFile[] {
  const held: HeldFile[] = [];
  for (let i = 0; ; i++) {
    let fd: number;
    try { fd = openSync(i === 0 ? path : `${path}.${i}`, 'r'); } catch { break; }
    const st = fstatSync(fd, { bigint: true });
    if (held.some((h) => h.inode === st.ino)) { closeSync(fd); continue; }
    held.push({ fd, inode: st.ino, size: Number(st.size) });
  }
  return held;
}

function readPrefix(fd: number, n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  let off = 0;
  while (off < n) {
    const r = readSync(fd, buf, off, n - off, off);
    if (r === 0) break;
    off += r;
  }
  return buf.subarray(0, off);
}

/**
 * The bytes of the log before pos, oldest first, read in one pass over the
 * files as they are now; undefined when the seam's file is not among them.
 */
function readBefore(path: string, pos: LogPosition): Buffer[] | undefined {
  const held = openNewestFirst(path);
  try {
    const at = held.findIndex((h) => h.inode === pos.inode);
    if (at < 0) return undefined;
    const older = held.slice(at + 1).reverse().map((h) => readPrefix(h.fd, h.size));
    return [...older, readPrefix(held[at]!.fd, pos.offset)];
  } finally {
    for (const h of held) closeSync(h.fd);
  }
}

/** Whether the seam's file still holds its bytes before pos, `generation` rotations later. */
function seamKept(pos: LogPosition, generation: number): boolean {
  const rotations = generation - pos.generation;
  if (rotations === 0) return true;
  // max-file 1 empties the same file; N files: it is at name.<rotations> until rotated away
  return pos.maxFile > 1 && rotations < pos.maxFile;
}

/** Passes tried while the log keeps rotating under the reader. */
const PASSES = 20;

/**
 * The log's entries before pos (the seam of an attach), oldest first.
 * `generation` asks the shim where its log's generation is now; it is only
 * called for a log that rotates. Empty when no log file is there, or when
 * rotation has dropped the output before the seam.
 */
export async function readLogUntil(path: string, pos: LogPosition, generation: () => Promise<number>): Promise<LogChunk[]> {
  if (pos.inode === 0n) return [];
  let before = pos.generation;
  for (let pass = 0; pass < PASSES; pass++) {
    const bytes = readBefore(path, pos);
    if (pos.maxFile === 0) return bytes ? parse(bytes) : [];
    const after = await generation();
    if (!seamKept(pos, after)) return [];
    if (after === before) return bytes ? parse(bytes) : [];
    before = after; // rotated while the files were listed: list them again
  }
  return [];
}

function parse(files: Buffer[]): LogChunk[] {
  return files.flatMap((b) => parseJsonLog(b.toString('utf8')));
}

/**
 * The replay of an attach with logs: the log's entries before the seam,
 * then the bytes of each stream's line the shim held unfinished.
 */
export function replayBeforeSeam(log: LogChunk[], pending: Record<StreamName, Buffer>): LogChunk[] {
  const out = [...log];
  for (const stream of ['stdout', 'stderr'] as const) {
    if (pending[stream].length > 0) out.push({ stream, data: pending[stream] });
  }
  return out;
}
