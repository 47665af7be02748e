/**
 * A container's network namespace as a file: an nsfs bind mount at
 * <exec-root>/netns/<id>, made by `unshare --net=<file>` (a child enters
 * the new namespace, never berthd), given to the runtime as the spec's
 * network namespace path, and unmounted and unlinked with the container.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../common/native.js';
import { run } from './sys.js';

const MNT_DETACH = 2;

export function netnsDir(execRoot: string): string {
  return join(execRoot, 'netns');
}

export function netnsPath(execRoot: string, id: string): string {
  return join(netnsDir(execRoot), id);
}

/** The empty file a namespace is bound on, and its directory. */
export function netnsFile(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a'));
}

/** Makes the namespace file (idempotent: an existing mount is kept) with loopback up. */
export function createNetns(path: string): void {
  if (isNsMount(path)) return;
  netnsFile(path);
  try {
    // one child: the namespace made, and its loopback up from inside it
    run('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up'], `cannot make network namespace ${path}`);
  } catch (err) {
    removeNetns(path);
    throw err;
  }
}

/** Unmounts and unlinks; the namespace ends when its last user goes. */
export function removeNetns(path: string): void {
  try { native().umount2(path, MNT_DETACH); } catch { /* not mounted */ }
  rmSync(path, { force: true });
}

/** An nsfs mount at path, as berthd's mount table shows it. */
export function isNsMount(path: string): boolean {
  if (!existsSync(path)) return false;
  const table = readFileSync('/proc/self/mountinfo', 'utf8');
  return table.split('\n').some((l) => {
    const f = l.split(' ');
    return f[4] === path && l.includes(' - nsfs ');
  });
}

export function listNetns(execRoot: string): string[] {
  try { return readdirSync(netnsDir(execRoot)); } catch { return []; }
}
