/**
 * .dockerignore as the docker CLI reads and applies it: the file's lines
 * (a UTF-8 BOM dropped, `#` comments, blanks, `!` exceptions, each path
 * cleaned and made relative), and the pattern matcher the CLI's tar walk
 * uses — `*` and `?` within one path element, `**` across any number of
 * them (none included), `[…]` classes, `\` escapes, a pattern matching a
 * parent directory excluding what is under it, the last matching pattern
 * deciding. Written from the documented behaviour; its quirks are kept
 * (an exact pattern compares the cleaned text, `**` not followed by `/`
 * still needs one, the old parent check of `matches`).
 */

/** Go's path.Clean: one slash between elements, `.` gone, `..` resolved lexically, "." for nothing. */
export function cleanPath(p: string): string {
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

/** The patterns of a .dockerignore file's text, as the docker CLI reads them. */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    // a comment only when `#` is the line's very first character (before any trimming)
    if (line.startsWith('#')) continue;
    let p = line.trim();
    if (p === '') continue;
    const invert = p.startsWith('!');
    if (invert) p = p.slice(1).trim();
    if (p !== '') {
      p = cleanPath(p);
      if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    }
    patterns.push(invert ? `!${p}` : p);
  }
  return patterns;
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

/** Characters that mean something to a regular expression and nothing to a path pattern. */
const REGEXP_ONLY = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** One cleaned pattern, compiled the first time it is used. */
export class Pattern {
  private type: MatchType | undefined;
  private re: RegExp | undefined;

  constructor(readonly text: string, readonly exclusion: boolean) {}

  private compile(): void {
    let re = '^';
    let type: MatchType = 'exact';
    const chars = [...this.text];
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i]!;
      if (ch === '*') {
        if (chars[i + 1] === '*') {
          const first = i === 0;
          i++;
          if (chars[i + 1] === '/') i++;
          if (i + 1 >= chars.length) {
            // "**" at the end matches everything below, as .gitignore's does
            if (type === 'exact') type = 'prefix';
            else { re += '.*'; type = 'regexp'; }
          } else {
            re += '(.*/)?';
            type = 'regexp';
          }
          if (first) type = 'suffix';
        } else {
          re += '[^/]*';
          type = 'regexp';
        }
      } else if (ch === '?') {
        re += '[^/]';
        type = 'regexp';
      } else if (REGEXP_ONLY.has(ch)) {
        re += `\\${ch}`;
      } else if (ch === '\\') {
        if (i + 1 < chars.length) {
          re += `\\${chars[++i]!}`;
          type = 'regexp';
        } else re += '\\\\';
      } else if (ch === '[' || ch === ']') {
        re += ch;
        type = 'regexp';
      } else re += ch;
    }
    if (type === 'regexp') {
      try {
        this.re = new RegExp(`${re}$`);
      } catch {
        throw new Error(`syntax error in pattern: ${this.text}`);
      }
    }
    this.type = type;
  }

  /** Whether a cleaned, slash-separated path matches this pattern (not its parents). */
  match(path: string): boolean {
    if (this.type === undefined) this.compile();
    switch (this.type) {
      case 'exact': return path === this.text;
      case 'prefix': return path.startsWith(this.text.slice(0, -2));
      case 'suffix': {
        const suffix = this.text.slice(2);
        return path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
      }
      default: return this.re!.test(path);
    }
  }
}

/** What a directory's check leaves for its entries: which patterns matched it (or a parent). */
export interface MatchInfo { parentMatched: boolean[] }

/** The parent directories of a path, shallowest first ("a/b/c" → "a", "a/b"). */
function parentsOf(file: string): string[] {
  const dirs = file.split('/').slice(0, -1);
  return dirs.map((_, i) => dirs.slice(0, i + 1).join('/'));
}

export class PatternMatcher {
  readonly patterns: Pattern[] = [];
  /** Whether any pattern is an exception (`!…`). */
  readonly exclusions: boolean;

  constructor(patterns: string[]) {
    for (let p of patterns) {
      p = p.trim();
      if (p === '') continue;
      p = cleanPath(p);
      const exclusion = p.startsWith('!');
      if (exclusion) {
        if (p.length === 1) throw new Error('illegal exclusion pattern: "!"');
        p = p.slice(1);
      }
      this.patterns.push(new Pattern(p, exclusion));
    }
    this.exclusions = this.patterns.some((p) => p.exclusion);
    // a bad pattern is refused when the matcher is made, not at its first use
    for (const p of this.patterns) p.match('.');
  }

  /** Whether a path, or one of its parent directories, is excluded (the last matching pattern wins). */
  matchesOrParentMatches(file: string): boolean {
    let matched = false;
    const parents = parentsOf(file);
    for (const p of this.patterns) {
      // an inclusion cannot change a match, an exception cannot change a non-match
      if (p.exclusion !== matched) continue;
      const match = p.match(file) || parents.some((d) => p.match(d));
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * The same decision during a walk: a pattern that matched the parent
   * directory matches its entries without being tried again. The parent's
   * MatchInfo comes from the call for the directory; none at the top.
   */
  matchesUsingParentResults(file: string, parent?: MatchInfo): { skip: boolean; info: MatchInfo } {
    const info: MatchInfo = { parentMatched: [] };
    let matched = false;
    this.patterns.forEach((p, i) => {
      let match = parent?.parentMatched[i] ?? false;
      if (!match) {
        if (p.exclusion !== matched) { info.parentMatched[i] = false; return; }
        match = p.match(file) || (parent === undefined && parentsOf(file).some((d) => p.match(d)));
      }
      info.parentMatched[i] = match;
      if (match) matched = !p.exclusion;
    });
    return { skip: matched, info };
  }

  /**
   * The older check the docker CLI still uses to decide whether the
   * Dockerfile and .dockerignore need re-including: a parent directory is
   * tried only at the pattern's own depth.
   */
  matches(file: string): boolean {
    let matched = false;
    const dirs = file.split('/').slice(0, -1);
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let match = p.match(file);
      const depth = p.text.split('/').length;
      if (!match && dirs.length > 0 && depth <= dirs.length) match = p.match(dirs.slice(0, depth).join('/'));
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /** Whether a skipped directory must still be walked: an exception names something under it. */
  descendInto(dir: string): boolean {
    if (!this.exclusions) return false;
    return this.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(`${dir}/`));
  }
}

/**
 * The docker CLI's last step before the walk: .dockerignore and the
 * Dockerfile are always sent (the daemon drops them from what COPY sees
 * when they are ignored), except a Dockerfile that comes from stdin.
 */
export function keepBuildFiles(excludes: string[], dockerfile: string, dockerfileFromStdin: boolean): string[] {
  const out = [...excludes];
  const ignored = (f: string): boolean => {
    const c = cleanPath(f);
    return c !== '.' && new PatternMatcher(out).matches(c);
  };
  if (ignored('.dockerignore')) out.push('!.dockerignore');
  if (!dockerfileFromStdin && ignored(dockerfile)) out.push(`!${dockerfile}`);
  return out;
}
