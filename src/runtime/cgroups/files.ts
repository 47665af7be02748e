/**
 * Plain file operations on cgroup directories, each failing with a
 * BerthError that names the file. Control files are written with one
 * write(2) each (the kernel parses every write as one command).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { wrap } from '../../common/errors.js';

type WriteObserver = (path: string, data: string) => void;
let observer: WriteObserver | undefined;

/**
 * Sees every control-file write, in order, before it is made: the unit
 * tests record the sequence (several writes to one file, such as
 * devices.allow, leave only the last in a plain directory). Returns the undo.
 */
export function observeWrites(fn: WriteObserver): () => void {
  observer = fn;
  return () => {
    if (observer === fn) observer = undefined;
  };
}

export function writeFile(dir: string, name: string, value: string | number): void {
  const path = join(dir, name);
  const data = String(value);
  observer?.(path, data);
  let fd: number;
  try {
    // O_CREAT is harmless on cgroupfs (the kernel owns the names) and lets the
    // unit tests run against a plain directory laid out like one.
    fd = openSync(path, 'w');
  } catch (err) {
    throw wrap(`cannot open cgroup file ${path}`, err);
  }
  try {
    writeSync(fd, data);
  } catch (err) {
    throw wrap(`cannot write ${JSON.stringify(data)} to cgroup file ${path}`, err);
  } finally {
    closeSync(fd);
  }
}

export function readFile(dir: string, name: string): string {
  const path = join(dir, name);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw wrap(`cannot read cgroup file ${path}`, err);
  }
}

/** The file's content, or undefined when it does not exist (optional controller files). */
export function readOptional(dir: string, name: string): string | undefined {
  try {
    return readFileSync(join(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw wrap(`cannot read cgroup file ${join(dir, name)}`, err);
  }
}

export function hasFile(dir: string, name: string): boolean {
  return existsSync(join(dir, name));
}

/** A number from a one-value file ("max" reads as 0: no limit). */
export function readNumber(dir: string, name: string): number {
  const s = readOptional(dir, name)?.trim();
  if (s === undefined || s === '' || s === 'max') return 0;
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
}

/** "key value" lines (memory.stat, cpu.stat …). */
export function readKeyValues(dir: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  const s = readOptional(dir, name);
  if (s === undefined) return out;
  for (const line of s.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

export function makeDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    throw wrap(`cannot create cgroup ${path}`, err);
  }
}

/** The pids listed in a cgroup.procs file. */
export function readProcs(dir: string): number[] {
  const s = readOptional(dir, 'cgroup.procs') ?? '';
  return s.split('\n').filter((l) => l.trim() !== '').map(Number);
}

/** Child cgroup directories of dir. */
export function childDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw wrap(`cannot list cgroup ${dir}`, err);
  }
}

/** dir and every cgroup below it, children first (the order rmdir needs). */
export function subtreeLeafFirst(dir: string): string[] {
  const out: string[] = [];
  for (const c of childDirs(dir)) out.push(...subtreeLeafFirst(c));
  if (existsSync(dir)) out.push(dir);
  return out;
}

const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread; the drivers are synchronous by design (plain file writes). */
export function sleepMs(ms: number): void {
  Atomics.wait(sleepBuffer, 0, 0, ms);
}

/**
 * Removes one cgroup directory. A cgroup whose last process has just exited
 * may still read as busy for a moment, so EBUSY is retried briefly.
 */
export function removeDir(path: string, timeoutMs = 1000): void {
  const deadline = Date.now() + timeoutMs;
  let wait = 1;
  for (;;) {
    try {
      rmdirSync(path);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() >= deadline) throw wrap(`cannot remove cgroup ${path}`, err);
    }
    sleepMs(wait);
    wait = Math.min(wait * 2, 50);
  }
}
