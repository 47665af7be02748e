/**
 * Variable substitution in Dockerfile words, as dockerd's builder does it
 * for the instructions that allow it: `$VAR`, `${VAR}`, `${VAR:-word}`,
 * `${VAR:+word}` (and `-`, `+`, `?` with and without the colon), single
 * quotes literal, double quotes expanding, the escape character taking the
 * next one literally. Quotes are removed from the result. In words mode an
 * unquoted space (also one an expansion produced) splits words.
 */
import { invalidArgument } from '../../common/errors.js';

export type Env = ReadonlyMap<string, string>;

/** KEY=VALUE lines as a map (the last one of a key wins, as for a process). */
export function envMap(lines: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines) {
    const i = l.indexOf('=');
    if (i < 0) m.set(l, ''); else m.set(l.slice(0, i), l.slice(i + 1));
  }
  return m;
}

class Lexer {
  private i = 0;
  /** words so far (words mode) */
  readonly words: string[] = [];
  private word = '';
  /** a word was started (so "" counts as one) */
  private started = false;

  constructor(private readonly s: string, private readonly env: Env, private readonly escape: string, private readonly split: boolean) {}

  private flush(): void {
    if (this.started) this.words.push(this.word);
    this.word = '';
    this.started = false;
  }

  private add(text: string): void { this.word += text; this.started = true; }

  /** Unquoted expanded text: split on spaces in words mode. */
  private addUnquoted(text: string): void {
    if (!this.split) { this.add(text); return; }
    const parts = text.split(/[ \t\r\n]+/);
    parts.forEach((p, k) => {
      if (k > 0) this.flush();
      if (p !== '') this.add(p);
    });
  }

  run(): string[] {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (this.split && /[ \t\r\n]/.test(c)) { this.flush(); this.i++; continue; }
      if (c === this.escape) {
        this.i++;
        if (this.i < s.length) this.add(s[this.i++]!);
        continue;
      }
      if (c === "'") { this.single(); continue; }
      if (c === '"') { this.double(); continue; }
      if (c === '$') { this.addUnquoted(this.dollar()); continue; }
      this.add(c);
      this.i++;
    }
    this.flush();
    return this.words;
  }

  private single(): void {
    const end = this.s.indexOf("'", this.i + 1);
    if (end < 0) throw invalidArgument(`unexpected end of statement while looking for matching single-quote`);
    this.add(this.s.slice(this.i + 1, end));
    this.i = end + 1;
  }

  private double(): void {
    const s = this.s;
    this.i++;
    this.started = true;
    while (this.i < s.length && s[this.i] !== '"') {
      const c = s[this.i]!;
      if (c === this.escape && this.i + 1 < s.length && ['"', '$', this.escape].includes(s[this.i + 1]!)) {
        this.word += s[this.i + 1];
        this.i += 2;
      } else if (c === '$') {
        this.word += this.dollar();
      } else {
        this.word += c;
        this.i++;
      }
    }
    if (this.i >= s.length) throw invalidArgument(`unexpected end of statement while looking for matching double-quote`);
    this.i++;
  }

  /** At a `$`: the expansion (or the `$` itself when no name follows). */
  private dollar(): string {
    const s = this.s;
    this.i++;
    if (s[this.i] === '{') return this.braced();
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]/.exec(s.slice(this.i));
    if (!m) return '$';
    this.i += m[0].length;
    return this.env.get(m[0]) ?? '';
  }

  private braced(): string {
    const s = this.s;
    this.i++;
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]+/.exec(s.slice(this.i));
    if (!m) throw invalidArgument(`missing ':' in substitution`);
    const name = m[0];
    this.i += name.length;
    if (s[this.i] === '}') { this.i++; return this.env.get(name) ?? ''; }
    const op = /^(:?[-+?])/.exec(s.slice(this.i));
    if (!op) throw invalidArgument(`unsupported modifier (${s[this.i] ?? ''}) in substitution`);
    this.i += op[0].length;
    const word = this.nested();
    const value = this.env.get(name);
    const colon = op[0].startsWith(':');
    const set = colon ? value !== undefined && value !== '' : value !== undefined;
    switch (op[0].slice(-1)) {
      case '-': return set ? value! : word;
      case '+': return set ? word : '';
      default:
        if (!set) throw invalidArgument(`${name}: ${word === '' ? 'is not allowed to be unset' : word}`);
        return value!;
    }
  }

  /** The word of `${x:-word}` up to its closing brace, itself expanded. */
  private nested(): string {
    const s = this.s;
    let depth = 0;
    const start = this.i;
    for (; this.i < s.length; this.i++) {
      const c = s[this.i]!;
      if (c === this.escape) { this.i++; continue; }
      if (c === '{') depth++;
      if (c === '}') { if (depth === 0) break; depth--; }
    }
    if (this.i >= s.length) throw invalidArgument(`syntax error: missing '}'`);
    const inner = s.slice(start, this.i);
    this.i++;
    return new Lexer(inner, this.env, this.escape, false).run().join('');
  }
}

/** One word: expanded, quotes removed, never split. */
export function processWord(text: string, env: Env, escape = '\\'): string {
  return new Lexer(text, env, escape, false).run().join('');
}

/** Words: split on unquoted spaces (those of expansions too), each expanded. */
export function processWords(text: string, env: Env, escape = '\\'): string[] {
  return new Lexer(text, env, escape, true).run();
}

/**
 * Splits text into words on unquoted spaces, keeping quotes and escapes
 * as written (the raw words of ENV and LABEL, expanded one by one later).
 */
export function rawWords(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let w = '';
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === undefined && /\s/.test(c)) {
      if (started) words.push(w);
      w = '';
      started = false;
      continue;
    }
    started = true;
    if (c === escape && i + 1 < text.length && quote !== "'") { w += c + text[i + 1]; i++; continue; }
    if (quote === undefined && (c === '"' || c === "'")) quote = c;
    else if (quote === c) quote = undefined;
    w += c;
  }
  if (quote !== undefined) throw invalidArgument(`unexpected end of statement while looking for matching ${quote === '"' ? 'double' : 'single'}-quote`);
  if (started) words.push(w);
  return words;
}
