/**
 * Attach with logs: a process's json-file log replayed, then its live output,
 * meeting without a gap or a repeat.
 *
 * The seam is found from what the shim guarantees (native/shim/stream.c):
 * one loop reads a chunk of output, writes the log entries of the lines it
 * completes, then sends the chunk to attachers. So once the attach is in
 * place, every complete line of live output received before the log is read
 * is already in the log, and the log of each stream is
 *   (output before the attach) + (live output, as far as it was logged).
 * The replay is the log of each stream cut where the live output starts:
 * the latest position at which the log agrees with the live output received
 * so far. A line the process had half written when the attach began is
 * split there: its first part comes from the log, the rest live.
 *
 * The log is read once a complete live line has come (services/attach.ts
 * waits for one, briefly), so a half-written line is in it.
 *
 * Limits: a line half written at the attach whose end comes only after that
 * wait loses its start (an exact seam needs the shim to say, in its ATTACH
 * reply, where its log stands); the log's bytes are what json-file keeps (invalid UTF-8 becomes
 * U+FFFD), so binary output may not be matched and is then replayed in full;
 * output the shim sent but the core had not read when the log was read can
 * be repeated when it is the same bytes as the line before it.
 */
import { existsSync, readFileSync } from 'node:fs';

export type StreamName = 'stdout' | 'stderr';

export interface LogChunk {
  stream: StreamName;
  data: Buffer;
}

/** How far back from the end of a stream's log the seam is looked for. */
const SEARCH_WINDOW = 1 << 20;

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

/** Every entry of the log at path and its rotated files. */
export function readJsonLog(path: string): LogChunk[] {
  return logFiles(path).flatMap((f) => {
    try { return parseJsonLog(readFileSync(f, 'utf8')); } catch { return []; }
  });
}

function concat(chunks: LogChunk[], stream: StreamName): Buffer {
  return Buffer.concat(chunks.filter((c) => c.stream === stream).map((c) => c.data));
}

/** Whether log[j:] and live agree on their common length. */
function agrees(log: Buffer, j: number, live: Buffer): boolean {
  const n = Math.min(log.length - j, live.length);
  return log.compare(live, 0, n, j, j + n) === 0;
}

/**
 * Where, in one stream's log, the live output starts: the latest j at
 * which the log holds every complete line received live (they were logged
 * before they were sent) and agrees with the rest. The log's end when no
 * position fits (nothing of the live output is in the log).
 */
export function seamOf(log: Buffer, live: Buffer): number {
  const complete = live.lastIndexOf(0x0a) + 1;
  const lowest = Math.max(0, log.length - complete - SEARCH_WINDOW);
  for (let j = log.length - complete; j >= lowest; j--) {
    if (agrees(log, j, live)) return j;
  }
  return log.length;
}

/**
 * The replay: the log's entries in order, each stream cut at its seam with
 * the live output received so far (`live`, in arrival order).
 */
export function replayUntilLive(log: LogChunk[], live: LogChunk[]): LogChunk[] {
  const left: Record<StreamName, number> = {
    stdout: seamOf(concat(log, 'stdout'), concat(live, 'stdout')),
    stderr: seamOf(concat(log, 'stderr'), concat(live, 'stderr')),
  };
  const out: LogChunk[] = [];
  for (const e of log) {
    const n = Math.min(left[e.stream], e.data.length);
    if (n === 0) continue;
    out.push(n === e.data.length ? e : { stream: e.stream, data: e.data.subarray(0, n) });
    left[e.stream] -= n;
  }
  return out;
}
