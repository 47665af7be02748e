/**
 * A full copy of a directory tree for the native snapshotter: every entry
 * copied (never hard-linked to the source, so a snapshot cannot change its
 * parent), keeping ownership, modes (setuid included), extended attributes,
 * times, device numbers, fifos and the hard links inside the tree.
 */
import { chmodSync, copyFileSync, constants, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, utimesSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../common/native.js';

// glibc's major()/minor() split of a dev_t
const major = (rdev: number): number => { const d = BigInt(rdev); return Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)); };
const minor = (rdev: number): number => { const d = BigInt(rdev); return Number((d & 0xffn) | ((d >> 12n) & ~0xffn)); };

function copyXattrs(src: string, dst: string): void {
  for (const name of native().llistxattr(src)) {
    const v = native().lgetxattr(src, name);
    if (v !== null) native().lsetxattr(dst, name, v);
  }
}

/** Ownership, mode, xattrs, then times: the order in which none undoes another. */
function copyAttributes(src: string, dst: string, st: Stats): void {
  lchownSync(dst, st.uid, st.gid);
  if (!st.isSymbolicLink()) chmodSync(dst, st.mode & 0o7777);
  copyXattrs(src, dst);
  if (st.isSymbolicLink()) lutimesSync(dst, st.atime, st.mtime);
  else utimesSync(dst, st.atime, st.mtime);
}

function copyEntry(src: string, dst: string, st: Stats, links: Map<string, string>): void {
  if (st.nlink > 1 && !st.isDirectory()) {
    const first = links.get(`${st.dev}:${st.ino}`);
    if (first !== undefined) { linkSync(first, dst); return; }
    links.set(`${st.dev}:${st.ino}`, dst);
  }
  if (st.isDirectory()) {
    mkdirSync(dst, { mode: 0o700 });
    for (const name of readdirSync(src)) copyEntry(join(src, name), join(dst, name), lstatSync(join(src, name)), links);
  } else if (st.isFile()) {
    copyFileSync(src, dst, constants.COPYFILE_FICLONE);
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dst);
  } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
    native().mknod(dst, st.mode, major(st.rdev), minor(st.rdev));
  } else {
    return; // sockets belong to a running process, not to a file system image
  }
  copyAttributes(src, dst, st);
}

/** Copies the contents of src into the existing, empty directory dst (dst takes src's attributes). */
export function copyTree(src: string, dst: string): void {
  const links = new Map<string, string>();
  for (const name of readdirSync(src)) copyEntry(join(src, name), join(dst, name), lstatSync(join(src, name)), links);
  copyAttributes(src, dst, lstatSync(src));
}
