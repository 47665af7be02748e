/**
 * Where a layer entry lands, decided without following anything out of the
 * snapshot: a name is split into components (no `..`, no absolute path),
 * and every directory on the way must be a real directory inside `dir` — a
 * symbolic link there, wherever it points, refuses the entry, since a layer
 * that writes through a link is how a layer reaches outside its snapshot.
 * Missing directories on the way are created (tars may omit them).
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Why an entry is refused; apply.ts turns it into the layer's error. */
export class EntryRefused extends Error {}

/** The components of an archive path; "" (the layer's root) is []. */
export function components(name: string): string[] {
  if (name.startsWith('/')) throw new EntryRefused('absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new EntryRefused('path leaves the layer (..)');
  if (parts.some((p) => p.includes('\0'))) throw new EntryRefused('path contains a NUL byte');
  return parts;
}

/** Whether path exists without following a final symlink (lstat), as its kind. */
export function kindAt(path: string): 'dir' | 'symlink' | 'other' | undefined {
  try {
    const st = lstatSync(path);
    return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The directory that holds `parts`' last component, created when missing.
 * Throws EntryRefused when a component on the way is a symlink or a file.
 */
export function parentDir(dir: string, parts: string[]): string {
  let at = dir;
  for (const [i, p] of parts.slice(0, -1).entries()) {
    at = join(at, p);
    const kind = kindAt(at);
    const shown = parts.slice(0, i + 1).join('/');
    if (kind === 'symlink') throw new EntryRefused(`path goes through symbolic link ${shown}`);
    if (kind === 'other') throw new EntryRefused(`path goes through ${shown}, which is not a directory`);
    if (kind === undefined) mkdirSync(at, { mode: 0o755 });
  }
  return at;
}

/** The host path of an existing entry (a hard link's target), checked the same way; its parents are not created. */
export function existingPath(dir: string, name: string): string {
  const parts = components(name);
  if (parts.length === 0) throw new EntryRefused('hard link to the layer root');
  let at = dir;
  for (const [i, p] of parts.entries()) {
    at = join(at, p);
    const kind = kindAt(at);
    const shown = parts.slice(0, i + 1).join('/');
    if (kind === undefined) throw new EntryRefused(`hard link target ${name} does not exist in the layer`);
    if (i < parts.length - 1 && kind !== 'dir') throw new EntryRefused(`hard link target goes through ${shown}, which is not a directory`);
    if (i === parts.length - 1 && kind === 'dir') throw new EntryRefused(`hard link target ${name} is a directory`);
  }
  return at;
}
