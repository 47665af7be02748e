/**
 * Removing a container on a full disk. Every step of a removal writes to a
 * database on the data root first (the container marked removing, the
 * core's task and snapshot records), and SQLite cannot write a byte when no
 * block is free: a container whose log filled the disk could then never be
 * removed, and removing it is how a user gets the space back. So when the
 * log's filesystem is (nearly) full, the logs of the container being removed
 * are emptied before anything else: they are deleted with it anyway.
 * And inspect asks the core about a log fault only when the log's
 * filesystem is short of room (logHasRoom).
 */
import { readdirSync, statfsSync, truncateSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Below this much free space a removal empties the container's logs first. */
const LOW_SPACE_BYTES = 4 * 1024 * 1024;

/** Empties logPath and its rotated files when their filesystem is nearly full; true when it did. */
export function freeLogSpaceForRemoval(logPath: string): boolean {
  if (logPath === '') return false;
  const dir = dirname(logPath);
  try {
    const st = statfsSync(dir);
    if (st.bavail * st.bsize >= LOW_SPACE_BYTES) return false;
    const base = basename(logPath);
    for (const n of readdirSync(dir)) if (n === base || n.startsWith(`${base}.`)) truncateSync(join(dir, n), 0);
    return true;
  } catch {
    // no log, or unreadable: the removal goes on and reports its own failure
    return false;
  }
}

/** Free space above which a log write cannot fail for lack of room (many times the largest entry). */
const AMPLE_ROOM_BYTES = 64 * 1024 * 1024;

/** Whether logPath's filesystem has ample room (false when it cannot be told). */
export function logHasRoom(logPath: string): boolean {
  try {
    const st = statfsSync(dirname(logPath));
    return st.bavail * st.bsize >= AMPLE_ROOM_BYTES;
  } catch {
    return false;
  }
}
