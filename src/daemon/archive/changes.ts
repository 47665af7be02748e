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

/** A change found in the upper directory: a whiteout file there, an opaque directory, or neither. */
export interface UpperChange extends Change { whiteout: boolean; opaque: boolean }

/** Every change under upper, in walk order (a directory, its opaque deletions, then its entries, by name). */
function walkUpper(upper: string, lowers: string[]): UpperChange[] {
  const out: UpperChange[] = [];
  const inLower = (rel: string): boolean => lowers.some((l) => lexists(posix.join(l, rel)));
  const walk = (rel: string): void => {
    for (const name of readdirSync(posix.join(upper, rel)).sort()) {
      const r = posix.join(rel, name);
      const st = lstatSync(posix.join(upper, r));
      if (st.isCharacterDevice() && st.rdev === 0) { out.push({ Path: r, Kind: DELETED, whiteout: true, opaque: false }); continue; }
      const opaque = st.isDirectory() && isOpaque(posix.join(upper, r));
      out.push({ Path: r, Kind: inLower(r) ? MODIFIED : ADDED, whiteout: false, opaque });
      if (!st.isDirectory()) continue;
      if (opaque) {
        for (const l of lowers) {
          try {
            for (const gone of readdirSync(posix.join(l, r)).sort()) {
              if (!lexists(posix.join(upper, r, gone))) out.push({ Path: posix.join(r, gone), Kind: DELETED, whiteout: false, opaque: false });
            }
          } catch { /* not in this layer */ }
        }
      }
      walk(r);
    }
  };
  walk('/');
  return out;
}

/** The changes the user made: what the runtime made for its mounts (dockerd's init layer) left out. */
function userChanges(out: UpperChange[]): UpperChange[] {
  const runtimeMade = (c: Change): boolean => (RUNTIME_PATHS.has(c.Path) && c.Kind !== DELETED) || c.Path.startsWith('/dev/') || c.Path.startsWith('/proc/') || c.Path.startsWith('/sys/');
  // a directory holding only what the runtime made in it (/etc for /etc/hosts …) is not shown
  // either, as dockerd's init layer keeps it out; one with other changes, or none below it (a
  // chmod), is
  const below = new Map<string, Change[]>();
  for (const c of out) below.set(posix.dirname(c.Path), [...(below.get(posix.dirname(c.Path)) ?? []), c]);
  const onlyRuntime = (dir: string): boolean => {
    const kids = below.get(dir) ?? [];
    return kids.length > 0 && kids.every((k) => runtimeMade(k) || (k.Kind !== DELETED && onlyRuntime(k.Path)));
  };
  const seen = new Set<string>();
  return out.filter((c) => !runtimeMade(c) && !(c.Kind !== DELETED && onlyRuntime(c.Path)))
    .filter((c) => (seen.has(c.Path) ? false : (seen.add(c.Path), true)));
}

/**
 * dockerd's order: depth first, a directory before what is below it, and in
 * each directory what is there now (each with its own changes after it)
 * before what was deleted from it; siblings by name (dockerd's own order
 * among siblings is a Go map's, so any is its).
 */
export function dockerdOrder(list: Change[]): Change[] {
  const deleted = new Set(list.filter((c) => c.Kind === DELETED).map((c) => c.Path));
  const parts = new Map(list.map((c) => [c.Path, c.Path.split('/').slice(1)]));
  return [...list].sort((a, b) => {
    const pa = parts.get(a.Path)!;
    const pb = parts.get(b.Path)!;
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      if (pa[i] === pb[i]) continue;
      const da = deleted.has(`/${pa.slice(0, i + 1).join('/')}`);
      const db = deleted.has(`/${pb.slice(0, i + 1).join('/')}`);
      if (da !== db) return da ? 1 : -1;
      return pa[i]! < pb[i]! ? -1 : 1;
    }
    return pa.length - pb.length;
  });
}

/** The changes under `upper` against `lowers`, in dockerd's order (docker diff). */
export function changes(upper: string, lowers: string[]): Change[] {
  return dockerdOrder(userChanges(walkUpper(upper, lowers)).map(({ Path, Kind }) => ({ Path, Kind })));
}

/**
 * What a commit's layer holds, in tar order (a directory before its
 * entries, by name): the user's changes found in upper, deletions as the
 * whiteout files there (an opaque directory carries its own marker).
 */
export function layerChanges(upper: string, lowers: string[]): UpperChange[] {
  return userChanges(walkUpper(upper, lowers)).filter((c) => c.Kind !== DELETED || c.whiteout);
}
