// Cgroup clean-up shared by the benchmarks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/** Removes rel in every v1 hierarchy (and the v2 one), deepest first; true while some of it is still there. */
export function removeCgroupTree(rel) {
  let left = false;
  for (const c of readdirSync('/sys/fs/cgroup')) {
    const root = join('/sys/fs/cgroup', c, rel);
    if (!existsSync(root)) continue;
    const dirs = spawnSync('find', [root, '-depth', '-type', 'd'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const d of dirs) { try { rmdirSync(d); } catch { left = true; } }
  }
  return left;
}
