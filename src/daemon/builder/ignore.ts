/**
 * dockerd's last step on a context: the Dockerfile and .dockerignore are
 * always sent (clients re-include them), but when .dockerignore excludes
 * them they are removed before any COPY sees the context — with the
 * Dockerfile that a client added under a random name (`-f -`), which its
 * .dockerignore lists.
 *
 * The matching is the .dockerignore rules the berth CLI applies when it
 * tars a context (src/cli/dockerignore.ts, with the full commentary and
 * tests); the layers share only src/common, so berthd keeps this copy of
 * the part it needs (lines, patterns, a path or a parent excluded, the
 * last match deciding) until the module moves there.
 */
import { readFileSync, rmSync } from 'node:fs';
import { posix } from 'node:path';
import { resolveInRoot } from '../archive/resolve.js';

function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  return rooted ? `/${joined}` : joined === '' ? '.' : joined;
}

/** The patterns of a .dockerignore (comments at column 0, blanks, `!`, cleaned, relative). */
export function ignorePatterns(text: string): { text: string; exclusion: boolean }[] {
  const out: { text: string; exclusion: boolean }[] = [];
  for (const line of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    let p = line.trim();
    if (p === '') continue;
    const exclusion = p.startsWith('!');
    if (exclusion) p = p.slice(1).trim();
    if (p === '') continue;
    p = cleanPath(p);
    if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    out.push({ text: p, exclusion });
  }
  return out;
}

const REGEXP_ONLY = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** One pattern as a test of a cleaned path: exact, `dir/**` prefix, `**\/x` suffix, or a regular expression. */
export function patternTest(pattern: string): (path: string) => boolean {
  let re = '^';
  let type: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*' && chars[i + 1] === '*') {
      const first = i === 0;
      i++;
      if (chars[i + 1] === '/') i++;
      if (i + 1 >= chars.length) {
        if (type === 'exact') type = 'prefix';
        else { re += '.*'; type = 'regexp'; }
      } else { re += '(.*/)?'; type = 'regexp'; }
      if (first) type = 'suffix';
    } else if (ch === '*') { re += '[^/]*'; type = 'regexp'; }
    else if (ch === '?') { re += '[^/]'; type = 'regexp'; }
    else if (REGEXP_ONLY.has(ch)) re += `\\${ch}`;
    else if (ch === '\\') {
      if (i + 1 < chars.length) { re += `\\${chars[++i]!}`; type = 'regexp'; } else re += '\\\\';
    } else if (ch === '[' || ch === ']') { re += ch; type = 'regexp'; }
    else re += ch;
  }
  if (type === 'exact') return (p) => p === pattern;
  if (type === 'prefix') return (p) => p.startsWith(pattern.slice(0, -2));
  if (type === 'suffix') {
    const suffix = pattern.slice(2);
    return (p) => p.endsWith(suffix) || (suffix.startsWith('/') && p === suffix.slice(1));
  }
  let compiled: RegExp | undefined;
  try { compiled = new RegExp(`${re}$`); } catch { compiled = undefined; }
  return (p) => compiled?.test(p) ?? false;
}

/** Whether a path, or a parent directory of it, is excluded by the patterns. */
export function excluded(patterns: { text: string; exclusion: boolean }[], file: string): boolean {
  const f = cleanPath(file);
  if (f === '.') return false;
  const dirs = f.split('/').slice(0, -1);
  const parents = dirs.map((_, i) => dirs.slice(0, i + 1).join('/'));
  let matched = false;
  for (const p of patterns) {
    if (p.exclusion !== matched) continue;
    const test = patternTest(p.text);
    if (test(f) || parents.some(test)) matched = !p.exclusion;
  }
  return matched;
}

/** Removes .dockerignore and the Dockerfile from the unpacked context when .dockerignore excludes them. */
export function dropIgnoredBuildFiles(contextDir: string, dockerfile: string): void {
  // paths resolved inside the context: a symlinked directory in it cannot lead a removal out
  const at = (rel: string, follow = false): string => resolveInRoot(contextDir, rel, follow).host;
  let text: string;
  try { text = readFileSync(at('.dockerignore', true), 'utf8'); } catch { return; }
  const patterns = ignorePatterns(text);
  for (const f of ['.dockerignore', dockerfile]) {
    const rel = posix.normalize(`/${f}`).slice(1);
    if (rel !== '' && excluded(patterns, rel)) rmSync(at(rel), { force: true });
  }
}
