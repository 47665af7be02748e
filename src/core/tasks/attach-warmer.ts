/**
 * Keeps the kernel's cgroup attach path fast while tasks are being created.
 *
 * Every write to a `cgroup.procs` (v1 or v2) takes one global lock,
 * cgroup_threadgroup_rwsem, whose writer first waits for an RCU grace
 * period — unless another writer left it less than a grace period ago.
 * So the runtime's move of a new container's init into its cgroup costs
 * ~10 ms on this kind of host (the whole CHILD → CONTINUE step of a
 * create; runc pays it too), while a second write right after costs
 * ~0.1 ms (measured: 9–11 ms cold, 0.07–0.11 ms with a write 15 ms before).
 *
 * While a Tasks.Create runs, the warmer writes the core's own pid into the
 * cgroup.procs of the cgroup the core is already in (a move to where it
 * is: nothing changes), in the thread pool, every few milliseconds. The
 * first write pays the grace period off the critical path, at the start of
 * the create; each later one keeps the lock's fast state alive, so the
 * runtime's write of the init, 15–30 ms into the create, finds it warm.
 * The core's cgroup is read again before each write, so a core moved by
 * its manager meanwhile is never moved back. A host where the write fails
 * (no such file, refused) stops the warmer for good: creates are then as
 * they were.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/log.js';

/** Well under a grace period (~10 ms here), so the fast state never lapses between writes. */
const EVERY_MS = 3;

const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * The cgroup.procs of the cgroup this process is in, from /proc/self/cgroup:
 * the unified hierarchy on a v2 host, else the first mounted v1 controller
 * hierarchy (not a named one: systemd's is left alone).
 */
export function ownProcsFile(selfCgroup: string, root = CGROUP_ROOT): string | undefined {
  const lines = selfCgroup.split('\n').filter(Boolean).map((l) => {
    const [, , controllers = '', path = ''] = /^(\d+):([^:]*):(.*)$/.exec(l) ?? [];
    return { controllers, path };
  });
  if (existsSync(join(root, 'cgroup.controllers'))) {
    const unified = lines.find((l) => l.controllers === '');
    return unified ? join(root, unified.path, 'cgroup.procs') : undefined;
  }
  for (const l of lines) {
    if (l.controllers === '' || l.controllers.startsWith('name=')) continue;
    const file = join(root, l.controllers, l.path, 'cgroup.procs');
    if (existsSync(file)) return file;
  }
  return undefined;
}

export class AttachWarmer {
  private holders = 0;
  private running = false;
  private disabled = false;

  constructor(private readonly log: Logger) {}

  /** Warms while held; the returned function lets go (creates overlap: counted). */
  hold(): () => void {
    this.holders++;
    if (!this.running && !this.disabled) {
      this.running = true;
      void this.loop();
    }
    let released = false;
    return () => {
      if (!released) { released = true; this.holders--; }
    };
  }

  private async loop(): Promise<void> {
    try {
      while (this.holders > 0 && !this.disabled) {
        await this.touch();
        await new Promise((r) => setTimeout(r, EVERY_MS));
      }
    } finally {
      this.running = false;
    }
  }

  private async touch(): Promise<void> {
    try {
      const file = ownProcsFile(await readFile('/proc/self/cgroup', 'utf8'));
      if (file === undefined) throw new Error('no cgroup.procs of its own found');
      await writeFile(file, String(process.pid));
    } catch (err) {
      this.disabled = true;
      this.log.debug('cgroup attach warmer off', { error: (err as Error).message });
    }
  }
}
