/** File helpers with the durability Berth promises: temp name, fsync, rename. */
import { closeSync, fsyncSync, openSync, renameSync, writeSync, unlinkSync, mkdirSync, readFileSync, lstatSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes a file so that a crash leaves either the old or the new content.
 * `durable: false` skips the fsyncs: right for volatile state (the runtime's
 * state under /run is meaningless after a reboot, and a killed process
 * loses nothing the page cache holds), and it keeps fsync off the start path.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, durable = true): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  if (durable) syncDir(dirname(path));
}

/** fsyncs a directory so a rename or create in it survives a crash. */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch { /* some filesystems refuse directory fsync; nothing more to do */ } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function mkdirp(path: string, mode = 0o755): void {
  mkdirSync(path, { recursive: true, mode });
}

export function readFileOr(path: string, fallback: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return fallback; }
}

/** Whether something is at path, a dangling symlink included (lstat, not stat). */
export function lexists(path: string): boolean {
  try { lstatSync(path); return true; } catch { return false; }
}
