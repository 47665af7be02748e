/**
 * The sources of COPY and ADD inside a directory (the build context, or
 * the files of another stage's image fetched into one): paths cleaned so
 * they stay inside it, wildcards matched as Go's filepath.Match does
 * (`*`, `?`, `[…]`, never across `/`), dockerd's messages when nothing is
 * there, and the content hash dockerd names them by in the history.
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { invalidArgument, notFound } from '../../common/errors.js';

export interface Source {
  /** the directory the source lives in (host path) */
  root: string;
  /** its path inside root, without a leading slash ("" for root itself) */
  path: string;
  stat: Stats;
}

const GLOB = /[*?[]/;

export const hasGlob = (p: string): boolean => GLOB.test(p);

/** Go's filepath.Match on one whole path. */
export function globMatch(pattern: string, name: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(name);
}

/** A source path as written, cleaned to a path inside the root ("" for the root). */
export function cleanInside(p: string): string {
  return posix.normalize(`/${p}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Every path under root (files and directories), relative, depth first. */
function walk(root: string, rel = ''): string[] {
  const out: string[] = [];
  let names: string[];
  try { names = readdirSync(posix.join(root, rel)).sort(); } catch { return out; }
  for (const n of names) {
    const p = rel === '' ? n : `${rel}/${n}`;
    out.push(p);
    if (lstatSync(posix.join(root, p)).isDirectory()) out.push(...walk(root, p));
  }
  return out;
}

/** The sources one pattern names in root; dockerd's errors when none. */
export function resolveSources(root: string, written: string, cmd: string): Source[] {
  const rel = cleanInside(written);
  if (hasGlob(rel)) {
    const hits = walk(root).filter((p) => globMatch(rel, p));
    return hits.map((p) => ({ root, path: p, stat: statSync(posix.join(root, p)) }));
  }
  try {
    // the named path itself is followed (a link to a file copies the file)
    return [{ root, path: rel, stat: statSync(posix.join(root, rel)) }];
  } catch {
    throw notFound(`${cmd} failed: file not found in build context or excluded by .dockerignore: stat ${rel === '' ? '.' : rel}: file does not exist`);
  }
}

async function fileHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Every entry a source copies: itself (a file) or what is under it (a directory). */
export function entriesOf(s: Source): { rel: string; host: string; stat: Stats }[] {
  const host = posix.join(s.root, s.path);
  if (!s.stat.isDirectory()) return [{ rel: '', host, stat: s.stat }];
  return walk(host).map((r) => ({ rel: r, host: posix.join(host, r), stat: lstatSync(posix.join(host, r)) }));
}

/**
 * dockerd's name for the sources in the history and the cache key:
 * `file:<hash>` for one file, `dir:<hash>` for one directory, `multi:<hash>`
 * for more; the hash covers names, modes, link targets and contents.
 */
export async function sourcesHash(sources: Source[]): Promise<string> {
  const parts: string[] = [];
  for (const s of sources) {
    const h = createHash('sha256');
    for (const e of entriesOf(s)) {
      h.update(`${e.rel}\0${e.stat.mode}\0`);
      if (e.stat.isSymbolicLink()) h.update(readlinkSync(e.host));
      else if (e.stat.isFile()) h.update(await fileHash(e.host));
      h.update('\0');
    }
    parts.push(`${s.stat.isDirectory() ? 'dir' : 'file'}:${h.digest('hex')}`);
  }
  if (parts.length === 1) return parts[0]!;
  return `multi:${createHash('sha256').update(parts.join(',')).digest('hex')}`;
}

/** dockerd's refusal of several sources into a destination not ending in a slash. */
export function checkMultiDest(count: number, dest: string, cmd: string): void {
  if (count > 1 && !dest.endsWith('/')) throw invalidArgument(`When using ${cmd} with more than one source file, the destination must be a directory and end with a /`);
}
