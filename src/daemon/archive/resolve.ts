/**
 * A container path resolved on the host inside the container's root, the
 * way openat2(RESOLVE_IN_ROOT) would: component by component with lstat,
 * symlinks read and resolved against the container's root (an absolute
 * target starts again at the root), `..` never climbing above it. No path
 * this returns can lie outside `root`, whatever links the container holds.
 *
 * Limit: the walk is done from berthd, so a process in a running
 * container that swaps a component for a symlink between our lstat and the
 * caller's open could still race us; reads and writes that follow use
 * O_NOFOLLOW on the final component (see pack.ts, extract.ts).
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { BerthError } from '../../common/errors.js';

const MAX_LINKS = 40;

export interface Resolved {
  /** the host path */
  host: string;
  /** the same path as the container sees it (absolute, clean) */
  inContainer: string;
}

function lstatOrNull(p: string): ReturnType<typeof lstatSync> | undefined {
  try { return lstatSync(p); } catch { return undefined; }
}

/**
 * Resolves `path` under `root`. The final component's symlink is followed
 * only with `followFinal`; a missing component ends the walk (the rest is
 * appended as given, for a path about to be created).
 */
export function resolveInRoot(root: string, path: string, followFinal: boolean): Resolved {
  const done: string[] = [];
  const todo = path.split('/').filter((p) => p !== '' && p !== '.');
  let links = 0;
  let missing = false;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === '.' || part === '') continue;
    if (part === '..') { if (!missing) done.pop(); else done.push(part); continue; }
    done.push(part);
    if (missing) continue;
    const isLast = todo.length === 0;
    const st = lstatOrNull(posix.join(root, ...done));
    if (!st) { missing = true; continue; }
    if (!st.isSymbolicLink() || (isLast && !followFinal)) continue;
    if (++links > MAX_LINKS) throw new BerthError('invalid-argument', `cannot resolve ${path}: too many levels of symbolic links`);
    const target = readlinkSync(posix.join(root, ...done));
    done.pop();
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  // a missing component followed by `..`: normalized lexically, still clamped at the root
  const inContainer = posix.normalize(`/${done.join('/')}`).replace(/^(\/\.\.)+/, '') || '/';
  return { host: inContainer === '/' ? root : posix.join(root, inContainer), inContainer };
}
