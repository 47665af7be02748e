/**
 * The path stat `docker cp` reads from X-Docker-Container-Path-Stat: the
 * mode in Go's os.FileMode bits (type bits high, permissions low).
 */
import type { Stats } from 'node:fs';
import type { PathStat } from '../../api/index.js';

const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_DEVICE = 2 ** 26;
const MODE_NAMED_PIPE = 2 ** 25;
const MODE_SOCKET = 2 ** 24;
const MODE_SETUID = 2 ** 23;
const MODE_SETGID = 2 ** 22;
const MODE_CHAR_DEVICE = 2 ** 21;
const MODE_STICKY = 2 ** 20;

/** A unix st_mode as Go's FileMode. */
export function goFileMode(mode: number): number {
  let m = mode & 0o777;
  const type = mode & 0o170000;
  if (type === 0o040000) m += MODE_DIR;
  else if (type === 0o120000) m += MODE_SYMLINK;
  else if (type === 0o060000) m += MODE_DEVICE;
  else if (type === 0o020000) m += MODE_DEVICE + MODE_CHAR_DEVICE;
  else if (type === 0o010000) m += MODE_NAMED_PIPE;
  else if (type === 0o140000) m += MODE_SOCKET;
  if (mode & 0o4000) m += MODE_SETUID;
  if (mode & 0o2000) m += MODE_SETGID;
  if (mode & 0o1000) m += MODE_STICKY;
  return m;
}

/** Docker's RFC 3339 with nanoseconds and the local offset as "Z" in UTC. */
export function goTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_m, f: string) => (f === '000' ? 'Z' : `.${f.replace(/0+$/, '')}Z`));
}

export function pathStat(name: string, st: Stats, linkTarget: string): PathStat {
  return { name, size: st.size, mode: goFileMode(st.mode), mtime: goTime(st.mtimeMs), linkTarget };
}
