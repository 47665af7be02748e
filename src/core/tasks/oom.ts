/**
 * OOM kills of a task, read from its memory cgroup: the kernel counts them
 * (`oom_kill N`) in cgroup v1's memory.oom_control and in cgroup v2's
 * memory.events. The counter outlives the processes until the cgroup is
 * removed (the runtime's delete), so a task that was killed while the core
 * was down is still known as OOM-killed when its exit is taken after a
 * restart. While the core runs, OomMonitor polls the counters of live tasks
 * so a kill is published (/tasks/oom) even when the task carries on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** linux.cgroupsPath of the task's bundle (config.json), when it has one. */
export function bundleCgroupsPath(bundle: string): string | undefined {
  try {
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { linux?: { cgroupsPath?: unknown } };
    const p = spec.linux?.cgroupsPath;
    return typeof p === 'string' && p !== '' ? p : undefined;
  } catch {
    return undefined;
  }
}

/** The `oom_kill N` line of a memory.oom_control or memory.events file. */
export function parseOomKill(text: string): number | undefined {
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * The OOM kill count of the cgroup at cgroupsPath (an absolute path under
 * each hierarchy, as bundle.ts sets it); undefined when no memory cgroup of
 * that path exists (removed, or a path this reader does not resolve).
 */
export function oomKillCount(cgroupsPath: string, root = CGROUP_ROOT): number | undefined {
  if (!cgroupsPath.startsWith('/') || cgroupsPath.includes('..')) return undefined;
  const candidates = [
    join(root, 'memory', cgroupsPath, 'memory.oom_control'), // v1 (hybrid or legacy)
    join(root, cgroupsPath, 'memory.events'), // v2 unified
    join(root, 'unified', cgroupsPath, 'memory.events'), // v2 part of a hybrid host
  ];
  for (const file of candidates) {
    try {
      const n = parseOomKill(readFileSync(file, 'utf8'));
      if (n !== undefined) return n;
    } catch {
      // not this hierarchy
    }
  }
  return undefined;
}

/** What a monitored task needs: its key, namespace, id and bundle. */
export interface OomSubject { namespace: string; id: string; bundle: string }

/**
 * Remembers the last count seen per task, so each new kill is published
 * once: `check` returns the count when it grew since the last look.
 */
export class OomMonitor {
  private readonly seen = new Map<string, number>();
  private readonly paths = new Map<string, string | undefined>();

  constructor(private readonly publish: (s: OomSubject, count: number) => void) {}

  private key(s: OomSubject): string { return `${s.namespace}/${s.id}`; }

  /** The task's current count (0 when unknown); publishes when it grew. */
  check(s: OomSubject): number {
    const k = this.key(s);
    if (!this.paths.has(k)) this.paths.set(k, bundleCgroupsPath(s.bundle));
    const path = this.paths.get(k);
    const count = path === undefined ? undefined : oomKillCount(path);
    if (count === undefined) return this.seen.get(k) ?? 0;
    if (count > (this.seen.get(k) ?? 0)) {
      this.seen.set(k, count);
      this.publish(s, count);
    }
    return count;
  }

  forget(s: OomSubject): void {
    this.seen.delete(this.key(s));
    this.paths.delete(this.key(s));
  }
}
