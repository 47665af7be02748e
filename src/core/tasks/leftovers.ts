/**
 * What a create cut short can leave behind when its shim died before it
 * could clean up itself: a runtime `create` still running (reparented away
 * from the dead shim), the runtime's container, its cgroup. The core finds
 * them by what it knows (the task's state directory is in every runtime
 * command line the shim ran; the cgroup path is the spec's) and removes them.
 */
import { existsSync, readFileSync, readdirSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Live processes whose command line mentions dir (the runtime calls the shim made for this task). */
export function processesMentioning(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if ((cmdline.includes(`${dir}/`) || cmdline.includes(`${dir}\0`)) && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') out.push(Number(name));
    } catch {
      // it exited while we looked
    }
  }
  return out;
}

/** Waits (up to ms) for those processes to finish on their own, then SIGKILLs what remains. */
export async function settleProcesses(dir: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (processesMentioning(dir).length > 0 && Date.now() < deadline) await sleep(50);
  for (const pid of processesMentioning(dir)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

/** Every mounted hierarchy's directory for cgroupsPath (v1 controllers and the unified one), existing ones only. */
function cgroupDirs(cgroupsPath: string): string[] {
  if (!cgroupsPath.startsWith('/') || cgroupsPath.includes('..')) return [];
  const seen = new Set<string>();
  const out: string[] = [];
  let hierarchies: string[] = [];
  try { hierarchies = readdirSync(CGROUP_ROOT); } catch { return []; }
  for (const h of hierarchies) {
    let base: string;
    try { base = realpathSync(join(CGROUP_ROOT, h)); } catch { continue; }
    if (seen.has(base)) continue;
    seen.add(base);
    const dir = join(base, cgroupsPath);
    if (dir !== base && existsSync(join(dir, 'cgroup.procs'))) out.push(dir);
  }
  return out;
}

/** Kills what runs in the cgroup (thawing it first) and removes its directories. */
export async function removeCgroup(cgroupsPath: string): Promise<void> {
  const dirs = cgroupDirs(cgroupsPath);
  for (const dir of dirs) {
    try { if (existsSync(join(dir, 'freezer.state'))) writeFileSync(join(dir, 'freezer.state'), 'THAWED'); } catch { /* not frozen */ }
    try {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
      }
    } catch { /* removed meanwhile */ }
  }
  for (const dir of dirs) {
    for (let i = 0; i < 40; i++) {
      try { rmdirSync(dir); break; } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
        await sleep(50);
      }
    }
  }
}
