/** Disk usage of a snapshot's own directory: bytes in blocks and inodes, each inode once. */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SnapshotUsage } from './types.js';

export function directoryUsage(dir: string): SnapshotUsage {
  const seen = new Set<string>();
  const out = { size: 0, inodes: 0 };
  const walk = (path: string): void => {
    const st = lstatSync(path);
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.inodes++;
    out.size += st.blocks * 512;
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  try { walk(dir); } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return out;
}
