/**
 * dockerd's last step on a context: the Dockerfile and .dockerignore are
 * always sent (clients re-include them), but when .dockerignore excludes
 * them they are removed before any COPY sees the context — with the
 * Dockerfile that a client added under a random name (`-f -`), which its
 * .dockerignore lists. The rules are the ones the berth CLI tars a context
 * with (src/common/dockerignore.ts).
 */
import { readFileSync, rmSync } from 'node:fs';
import { posix } from 'node:path';
import { cleanPath, parseDockerignore, PatternMatcher } from '../../common/dockerignore.js';
import { resolveInRoot } from '../archive/resolve.js';

/** Whether a path of the context, or a parent directory of it, is excluded by a .dockerignore's text. */
export function excluded(matcher: PatternMatcher, file: string): boolean {
  const f = cleanPath(file);
  return f !== '.' && matcher.matchesOrParentMatches(f);
}

/** Removes .dockerignore and the Dockerfile from the unpacked context when .dockerignore excludes them. */
export function dropIgnoredBuildFiles(contextDir: string, dockerfile: string): void {
  // paths resolved inside the context: a symlinked directory in it cannot lead a removal out
  const at = (rel: string, follow = false): string => resolveInRoot(contextDir, rel, follow).host;
  let text: string;
  try { text = readFileSync(at('.dockerignore', true), 'utf8'); } catch { return; }
  let matcher: PatternMatcher;
  try { matcher = new PatternMatcher(parseDockerignore(text)); } catch { return; } // the client refused it already
  for (const f of ['.dockerignore', dockerfile]) {
    const rel = posix.normalize(`/${f}`).slice(1);
    if (rel !== '' && excluded(matcher, rel)) rmSync(at(rel), { force: true });
  }
}
