/**
 * Which cgroup hierarchies are mounted under the root (normally
 * /sys/fs/cgroup), found from the directory layout alone so tests can point
 * the root at a plain directory laid out the same way:
 *   unified — cgroup2 at the root (root/cgroup.controllers exists);
 *   hybrid  — v1 controllers in root/<ctrl> plus a cgroup2 at root/unified;
 *   legacy  — v1 controllers only.
 * A v1 mount that carries several controllers ("cpu,cpuacct") is found by its
 * directory name; the per-controller symlinks point to the same place.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { unavailable } from '../../common/errors.js';

/** The v1 controllers Berth knows how to drive or at least join. */
export const V1_CONTROLLERS = [
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids',
  'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc',
] as const;

/** The key of the named systemd hierarchy in v1 path maps (as in /proc/<pid>/cgroup). */
export const SYSTEMD_KEY = 'name=systemd';
/** The key of the cgroup2 hierarchy in path maps (its line in /proc/<pid>/cgroup has no controllers). */
export const UNIFIED_KEY = '';

export type Layout =
  | { mode: 'unified'; root: string }
  | {
      mode: 'hybrid' | 'legacy';
      root: string;
      /** controller or "name=systemd" or "" (the cgroup2 of hybrid) → mount point */
      mounts: Record<string, string>;
    };

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function detectLayout(root: string): Layout {
  if (existsSync(join(root, 'cgroup.controllers'))) return { mode: 'unified', root };
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    throw unavailable(`no cgroup hierarchy is mounted at ${root}`);
  }
  const known = new Set<string>(V1_CONTROLLERS);
  const mounts: Record<string, string> = {};
  for (const name of names.sort()) {
    const dir = join(root, name);
    if (!isDir(dir)) continue;
    if (name === 'unified') {
      if (existsSync(join(dir, 'cgroup.controllers'))) mounts[UNIFIED_KEY] = dir;
      continue;
    }
    if (name === 'systemd') {
      mounts[SYSTEMD_KEY] = dir;
      continue;
    }
    for (const ctrl of name.split(',')) {
      // Prefer the real directory name so "cpu" and "cpu,cpuacct" agree.
      if (known.has(ctrl) && mounts[ctrl] === undefined) mounts[ctrl] = realDir(dir);
    }
  }
  if (!Object.keys(mounts).some((k) => known.has(k))) {
    throw unavailable(`no cgroup hierarchy is mounted at ${root}`);
  }
  return { mode: mounts[UNIFIED_KEY] !== undefined ? 'hybrid' : 'legacy', root, mounts };
}

function realDir(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
