/**
 * docker diff: the container's changes from its overlay upper directory.
 * A whiteout (a 0/0 character device) is a deletion (Kind 2); an entry
 * that also exists in a lower layer is a modification (Kind 0); anything
 * else was added (Kind 1). An opaque directory replaced the lower one's
 * content: its lower entries are deletions.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { posix } from 'node:path';
import { lexists } from '../../common/fs.js';
import { native } from '../../common/native.js';
import type { MountMessage } from '../../core/api/types.js';

export const MODIFIED = 0;
export const ADDED = 1;
export const DELETED = 2;

export interface Change { Path: string; Kind: number }

/** What the runtime creates in every container for its mounts (dockerd keeps them in an init layer, out of diff). */
const RUNTIME_PATHS = new Set(['/dev', '/proc', '/sys', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/etc/mtab', '/.dockerenv', '/dev/pts', '/dev/shm', '/dev/console']);

/** upperdir and lowerdirs (top first) of an overlay mount; a bind mount is all upper. */
export function overlayDirs(mounts: MountMessage[]): { upper: string; lowers: string[] } | undefined {
  const m = mounts[0];
  if (!m) return undefined;
  if (m.type === 'bind') return { upper: m.source, lowers: [] };
  const opt = (k: string): string | undefined => m.options.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
  const upper = opt('upperdir');
  if (upper === undefined) return undefined;
  return { upper, lowers: (opt('lowerdir') ?? '').split(':').filter((d) => d !== '') };
}

function isOpaque(dir: string): boolean {
  try {
    for (const name of ['trusted.overlay.opaque', 'user.overlay.opaque']) {
      const v = native().lgetxattr(dir, name);
      if (v !== null && v.toString() === 'y') return true;
    }
  } catch { /* no xattr support: not opaque */ }
  return false;
}

/** The changes under `upper` against `lowers`, sorted by path. */
export function changes(upper: string, lowers: string[]): Change[] {
  const out: Change[] = [];
  const inLower = (rel: string): boolean => lowers.some((l) => lexists(posix.join(l, rel)));
  const walk = (rel: string): void => {
    for (const name of readdirSync(posix.join(upper, rel)).sort()) {
      const r = posix.join(rel, name);
      const st = lstatSync(posix.join(upper, r));
      if (st.isCharacterDevice() && st.rdev === 0) { out.push({ Path: r, Kind: DELETED }); continue; }
      out.push({ Path: r, Kind: inLower(r) ? MODIFIED : ADDED });
      if (st.isDirectory()) {
        if (isOpaque(posix.join(upper, r))) {
          for (const l of lowers) {
            try {
              for (const gone of readdirSync(posix.join(l, r))) if (!lexists(posix.join(upper, r, gone))) out.push({ Path: posix.join(r, gone), Kind: DELETED });
            } catch { /* not in this layer */ }
          }
        }
        walk(r);
      }
    }
  };
  walk('/');
  const runtimeMade = (c: Change): boolean => (RUNTIME_PATHS.has(c.Path) && c.Kind !== DELETED) || c.Path.startsWith('/dev/') || c.Path.startsWith('/proc/') || c.Path.startsWith('/sys/');
  // a directory changed only by what the runtime made in it (/etc for /etc/hosts …) is not shown
  // either, as dockerd's init layer keeps it out; one with other changes, or none below it (a
  // chmod), is
  const parent = (path: string): string => posix.dirname(path);
  const below = new Map<string, Change[]>();
  for (const c of out) below.set(parent(c.Path), [...(below.get(parent(c.Path)) ?? []), c]);
  const onlyRuntime = (dir: string): boolean => {
    const kids = below.get(dir) ?? [];
    return kids.length > 0 && kids.every((k) => runtimeMade(k) || (k.Kind === MODIFIED && onlyRuntime(k.Path)));
  };
  const seen = new Set<string>();
  return out.filter((c) => !runtimeMade(c) && !(c.Kind === MODIFIED && onlyRuntime(c.Path)))
    .filter((c) => (seen.has(c.Path) ? false : (seen.add(c.Path), true)))
    .sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}
