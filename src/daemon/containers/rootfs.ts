/**
 * A short look into a container's root filesystem before it runs: its
 * snapshot's mounts, mounted on a private temp dir, to read /etc/passwd and
 * /etc/group, create WorkingDir and hand volumes their initial content —
 * then unmounted before the core mounts the same snapshot for the task.
 */
import { chownSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { wrap } from '../../common/errors.js';
import { native } from '../../common/native.js';
import type { MountMessage } from '../../core/api/types.js';

const MS_RDONLY = 1;
const MS_BIND = 4096;
const MS_REC = 16384;
const MNT_DETACH = 2;

function mountOne(m: MountMessage, target: string): void {
  let flags = 0;
  const data: string[] = [];
  for (const o of m.options) {
    if (o === 'ro') flags |= MS_RDONLY;
    else if (o === 'rw') continue;
    else if (o === 'bind') flags |= MS_BIND;
    else if (o === 'rbind') flags |= MS_BIND | MS_REC;
    else data.push(o);
  }
  native().mount(m.source, target, m.type === 'bind' ? '' : m.type, flags, data.join(','));
}

/** Mounts `mounts` at a temp dir under `parent`, runs fn with its path, unmounts (always). */
export async function withRootfs<T>(mounts: MountMessage[], parent: string, fn: (root: string) => Promise<T> | T): Promise<T> {
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(parent, 'view-'));
  let mounted = 0;
  try {
    for (const m of mounts) {
      try { mountOne(m, dir); } catch (err) { throw wrap(`cannot mount the container's root filesystem at ${dir}`, err); }
      mounted++;
    }
    return await fn(realpathSync(dir));
  } finally {
    for (let i = 0; i < mounted; i++) { try { native().umount2(dir, MNT_DETACH); } catch { /* already gone */ } }
    try { rmdirSync(dir); } catch { /* left for the next start's cleanup */ }
  }
}

/** The host path of `path` in the root filesystem, or undefined when a symlink on the way leads out of it. */
function inRoot(root: string, path: string): string | undefined {
  const p = join(root, posix.normalize(`/${path}`));
  try {
    const real = realpathSync(p);
    return real === root || real.startsWith(`${root}/`) ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `path` exists in the root filesystem (without leading out of it). */
export function existsInRoot(root: string, path: string): boolean {
  return inRoot(root, path) !== undefined;
}

/** A file of the root filesystem (undefined when absent or outside it). */
export function readInRoot(root: string, path: string): string | undefined {
  const p = inRoot(root, path);
  try { return p === undefined ? undefined : readFileSync(p, 'utf8'); } catch { return undefined; }
}

/** Creates WorkingDir in the root filesystem, owned by the container's user, as dockerd does. */
export function ensureDir(root: string, path: string, uid: number, gid: number): void {
  const target = posix.normalize(`/${path}`);
  if (inRoot(root, target) !== undefined) return;
  // create component by component, never through a symlink leading out
  let at = '/';
  for (const part of target.split('/').filter((x) => x !== '')) {
    at = posix.join(at, part);
    if (inRoot(root, at) !== undefined) continue;
    const parent = inRoot(root, posix.dirname(at));
    if (parent === undefined) return;
    const p = join(parent, part);
    mkdirSync(p, { mode: 0o755 });
    chownSync(p, uid, gid);
  }
}
