/**
 * What dockerd's init layer adds to every container's root filesystem,
 * written into the container's writable layer when it is created: an empty
 * /.dockerenv (scripts look for it to know they run in a container) and
 * /etc/mtab as a link to /proc/mounts when the image has none. `docker
 * diff` leaves both out (archive/changes.ts) and `export` keeps them, as
 * with dockerd.
 */
import { chownSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lexists } from '../../common/fs.js';
import type { MountMessage } from '../../core/api/types.js';
import { overlayDirs } from '../archive/changes.js';

/** A directory of the image made in the writable layer with the image's mode and owner (it wins over theirs). */
function ensureUpperDir(upper: string, lowers: readonly string[], rel: string): void {
  const target = join(upper, rel);
  if (lexists(target)) return;
  const from = lowers.map((l) => join(l, rel)).find(lexists);
  const st = from ? lstatSync(from) : undefined;
  mkdirSync(target, { mode: st ? st.mode & 0o7777 : 0o755 });
  if (st) chownSync(target, st.uid, st.gid);
}

export function writeInitLayer(mounts: MountMessage[]): void {
  const dirs = overlayDirs(mounts);
  if (!dirs) return;
  const inImage = (rel: string): boolean => [dirs.upper, ...dirs.lowers].some((d) => lexists(join(d, rel)));
  if (!inImage('.dockerenv')) writeFileSync(join(dirs.upper, '.dockerenv'), '', { mode: 0o755 });
  if (!inImage('etc/mtab')) {
    ensureUpperDir(dirs.upper, dirs.lowers, 'etc');
    symlinkSync('/proc/mounts', join(dirs.upper, 'etc', 'mtab'));
  }
}
