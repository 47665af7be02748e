/**
 * Carrying out a snapshot's mounts (the Mount[] a snapshotter returns) on a
 * target directory, and undoing them. mount(8)-style option words become
 * mount flags; the rest is the file system's data string.
 *
 * Overlay's options must fit in one page (the kernel copies one page of
 * data): a long lowerdir chain is rewritten relative to the directory its
 * layers share and mounted from there (the addon mounts from a child whose
 * working directory is that one), which shortens every layer to a few bytes.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import { invalidArgument, wrap } from '../../common/errors.js';
import { native } from '../../common/native.js';
import type { Mount } from './types.js';

const MS_RDONLY = 0x1;
const MS_REMOUNT = 0x20;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MNT_DETACH = 0x2;
const PAGE = 4096;

const FLAGS: Record<string, number> = { ro: MS_RDONLY, nosuid: 0x2, nodev: 0x4, noexec: 0x8, sync: 0x10, noatime: 0x400, nodiratime: 0x800, relatime: 0x200000, bind: MS_BIND, rbind: MS_BIND | MS_REC };
const NOOP = new Set(['rw', 'defaults', 'suid', 'dev', 'exec', 'async']);

function split(options: string[]): { flags: number; data: string[] } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    if (FLAGS[o] !== undefined) flags |= FLAGS[o];
    else if (!NOOP.has(o)) data.push(o);
  }
  return { flags, data };
}

/** The longest directory every path is under. */
function commonDir(paths: string[]): string {
  let common = dirname(paths[0]!);
  while (common !== '/' && !paths.every((p) => p.startsWith(common + sep))) common = dirname(common);
  return common;
}

/** Overlay data that fits a page: as given when it does, else relative to the layers' common directory. */
export function overlayData(data: string[]): { data: string; cwd?: string } {
  const joined = data.join(',');
  if (joined.length < PAGE) return { data: joined };
  const dirKeys = ['lowerdir', 'upperdir', 'workdir'];
  const paths: string[] = [];
  for (const o of data) {
    const [k, v] = [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)];
    if (dirKeys.includes(k)) paths.push(...v.split(':'));
  }
  const cwd = commonDir(paths);
  const short = data.map((o) => {
    const k = o.slice(0, o.indexOf('='));
    if (!dirKeys.includes(k)) return o;
    return `${k}=${o.slice(k.length + 1).split(':').map((p) => relative(cwd, p)).join(':')}`;
  }).join(',');
  if (short.length >= PAGE) throw invalidArgument(`overlay mount options are ${short.length} bytes even relative to ${cwd} (limit ${PAGE - 1}): too many layers`);
  return { data: short, cwd };
}

/** Mounts each of mounts on target, in order; on failure, what was mounted is undone. */
export function mountAll(mounts: Mount[], target: string): void {
  let done = 0;
  try {
    for (const m of mounts) {
      const { flags, data } = split(m.options);
      if (m.type === 'bind' || (flags & MS_BIND) !== 0) {
        native().mount(m.source, target, 'none', (flags | MS_BIND) & ~MS_RDONLY, '');
        done++;
        // a bind mount takes ro only on a remount
        if ((flags & MS_RDONLY) !== 0) native().mount('none', target, 'none', MS_BIND | MS_REMOUNT | MS_RDONLY | (flags & 0xe), '');
      } else {
        const d = m.type === 'overlay' ? overlayData(data) : { data: data.join(',') };
        native().mount(m.source, target, m.type, flags, d.data, d.cwd);
        done++;
      }
    }
  } catch (err) {
    for (; done > 0; done--) { try { native().umount2(target, MNT_DETACH); } catch { /* already gone */ } }
    throw wrap(`cannot mount snapshot on ${target}`, err);
  }
}

/** Whether path is a mount point (per this process's mountinfo). */
export function isMountPoint(path: string): boolean {
  const unescape = (s: string): string => s.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => unescape(line.split(' ')[4] ?? '') === path);
}

/** Unmounts everything stacked on target; a target that is not mounted is fine. Busy mounts are detached. */
export function unmountAll(target: string): void {
  for (let i = 0; i < 64 && isMountPoint(target); i++) {
    try { native().umount2(target, 0); } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT') return;
      if (code !== 'EBUSY') throw wrap(`cannot unmount ${target}`, err);
      native().umount2(target, MNT_DETACH);
    }
  }
}
