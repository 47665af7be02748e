/**
 * A subset of Go's text/template, enough for Docker's `--format`: fields and
 * nested fields, variables, `if`/`else if`/`else`, `range` (with `$i, $v :=`),
 * `with`, pipelines, parenthesised calls, string/number/bool literals,
 * comments, and the `{{-`/`-}}` trim markers. Errors carry Go's wording
 * (`template: :1: unclosed action`) because scripts and users grep them.
 */
import { formatValue } from './gofmt.js';

export class TemplateError extends Error {
  constructor(message: string, readonly phase: 'parse' | 'exec') { super(message); }
}

export type TemplateFunc = (...args: unknown[]) => unknown;

/** A value that answers fields itself (Docker's formatter contexts: `.ID`, `.Label "k"`). */
export interface FieldSource {
  readonly goTypeName: string;
  field(name: string, args: unknown[]): { found: boolean; value?: unknown };
}

function isFieldSource(v: unknown): v is FieldSource {
  return typeof v === 'object' && v !== null && typeof (v as FieldSource).field === 'function' && typeof (v as FieldSource).goTypeName === 'string';
}

// ---- syntax tree ----
type Arg =
  | { k: 'dot'; pos: number }
  | { k: 'field'; base: 'dot' | 'var' | 'paren'; varName?: string; inner?: Pipe; chain: string[]; pos: number; text: string }
  | { k: 'str'; v: string; pos: number }
  | { k: 'num'; v: number; pos: number }
  | { k: 'bool'; v: boolean; pos: number }
  | { k: 'nil'; pos: number }
  | { k: 'func'; name: string; pos: number }
  | { k: 'var'; name: string; pos: number };
interface Cmd { args: Arg[]; pos: number }
interface Pipe { decl: string[]; assign: boolean; cmds: Cmd[]; pos: number }
type Node =
  | { k: 'text'; v: string }
  | { k: 'action'; pipe: Pipe }
  | { k: 'if' | 'with'; pipe: Pipe; list: Node[]; elseList: Node[] }
  | { k: 'range'; pipe: Pipe; list: Node[]; elseList: Node[] };

// ---- lexing of actions ----
interface Tok { t: 'ident' | 'field' | 'var' | 'str' | 'num' | 'bool' | 'nil' | 'dot' | 'pipe' | 'lparen' | 'rparen' | 'decl' | 'assign' | 'comma'; v: string; pos: number }

function lexAction(src: string, base: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const err = (m: string): never => { throw new TemplateError(`template: :1: ${m}`, 'parse'); };
  while (i < src.length) {
    const c = src[i]!;
    const pos = base + i;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '|') { toks.push({ t: 'pipe', v: c, pos }); i++; continue; }
    if (c === '(') { toks.push({ t: 'lparen', v: c, pos }); i++; continue; }
    if (c === ')') { toks.push({ t: 'rparen', v: c, pos }); i++; continue; }
    if (c === ',') { toks.push({ t: 'comma', v: c, pos }); i++; continue; }
    if (src.startsWith(':=', i)) { toks.push({ t: 'decl', v: ':=', pos }); i += 2; continue; }
    if (c === '=') { toks.push({ t: 'assign', v: '=', pos }); i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) err('unterminated quoted string');
      try { toks.push({ t: 'str', v: JSON.parse(src.slice(i, j + 1)) as string, pos }); } catch { err(`bad string syntax: ${src.slice(i, j + 1)}`); }
      i = j + 1; continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) err('unterminated raw quoted string');
      toks.push({ t: 'str', v: src.slice(i + 1, j), pos }); i = j + 1; continue;
    }
    const word = /^(\.?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.)/.exec(src.slice(i));
    if (!word) err(`unexpected "${c}" in command`);
    const w = word![0];
    if (w === '.') toks.push({ t: 'dot', v: w, pos });
    else if (w.startsWith('.')) toks.push({ t: 'field', v: w, pos });
    else if (w.startsWith('$')) toks.push({ t: 'var', v: w, pos });
    else if (/^-?\d/.test(w)) toks.push({ t: 'num', v: w, pos });
    else if (w === 'true' || w === 'false') toks.push({ t: 'bool', v: w, pos });
    else if (w === 'nil') toks.push({ t: 'nil', v: w, pos });
    else toks.push({ t: 'ident', v: w, pos });
    i += w.length;
    // a field chain may follow a closing parenthesis or variable directly: (x).Field
  }
  return toks;
}

// ---- parsing ----
interface RawAction { kind: 'text'; text: string }
interface RawTag { kind: 'tag'; body: string; pos: number }

/** Splits the template into text and action bodies, applying the trim markers. */
function split(src: string): (RawAction | RawTag)[] {
  const out: (RawAction | RawTag)[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) { if (text) out.push({ kind: 'text', text }); break; }
    let start = open + 2;
    if (/^-\s/.test(src.slice(start, start + 2))) { text = text.replace(/\s+$/, ''); start += 1; }
    if (text) out.push({ kind: 'text', text });
    const close = findClose(src, start);
    if (close < 0) throw new TemplateError('template: :1: unclosed action', 'parse');
    let end = close;
    if (/\s-$/.test(src.slice(start, close))) { end = close - 1; trimNext = true; }
    const body = src.slice(start, end);
    if (!/^\s*\/\*[\s\S]*\*\/\s*$/.test(body)) out.push({ kind: 'tag', body, pos: start });
    i = close + 2;
  }
  return out;
}

/** The `}}` closing an action, skipping quoted strings. */
function findClose(src: string, from: number): number {
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (c === '"') { i++; while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1; continue; }
    if (c === '`') { i = src.indexOf('`', i + 1); if (i < 0) return -1; continue; }
    if (c === '}' && src[i + 1] === '}') return i;
  }
  return -1;
}

class Parser {
  private at = 0;
  constructor(private readonly items: (RawAction | RawTag)[], private readonly funcs: Record<string, TemplateFunc>) {}

  parse(): Node[] {
    const { list, end } = this.list();
    if (end) throw new TemplateError(`template: :1: unexpected {{${end}}}`, 'parse');
    return list;
  }

  /** Nodes up to an `end`/`else` keyword (returned) or the end of input. */
  private list(): { list: Node[]; end?: string; elseBody?: string; pos?: number } {
    const list: Node[] = [];
    while (this.at < this.items.length) {
      const it = this.items[this.at++]!;
      if (it.kind === 'text') { list.push({ k: 'text', v: it.text }); continue; }
      const body = it.body.trim();
      const kw = /^(if|range|with|else|end|define|template|block)\b\s*([\s\S]*)$/.exec(body);
      if (!kw) { list.push({ k: 'action', pipe: this.pipe(it.body, it.pos) }); continue; }
      const [, word, rest] = kw;
      if (word === 'end' || word === 'else') return { list, end: word, elseBody: rest, pos: it.pos };
      if (word === 'define' || word === 'template' || word === 'block') {
        throw new TemplateError(`template: :1: "${word}" is not supported by this --format`, 'parse');
      }
      list.push(this.control(word as 'if' | 'range' | 'with', rest ?? '', it.pos + it.body.indexOf(word!) + word!.length));
    }
    return { list };
  }

  private control(k: 'if' | 'range' | 'with', rest: string, pos: number): Node {
    const pipe = this.pipe(rest, pos);
    const body = this.list();
    if (!body.end) throw new TemplateError('template: :1: unexpected EOF', 'parse');
    let elseList: Node[] = [];
    if (body.end === 'else') {
      const chained = /^(if|with)\b\s*([\s\S]*)$/.exec(body.elseBody ?? '');
      if (chained) {
        // {{else if x}} is {{else}}{{if x}} … sharing the one {{end}}
        elseList = [this.control(chained[1] as 'if' | 'with', chained[2] ?? '', body.pos ?? pos)];
      } else {
        const e = this.list();
        if (e.end !== 'end') throw new TemplateError(e.end ? `template: :1: unexpected {{${e.end}}}` : 'template: :1: unexpected EOF', 'parse');
        elseList = e.list;
      }
    }
    return { k, pipe, list: body.list, elseList };
  }

  private pipe(src: string, base: number): Pipe {
    const toks = lexAction(src, base);
    let i = 0;
    const decl: string[] = [];
    let assign = false;
    // `$x :=`, `$i, $v :=`
    const declEnd = toks.findIndex((t) => t.t === 'decl' || t.t === 'assign');
    if (declEnd > 0 && toks.slice(0, declEnd).every((t) => t.t === 'var' || t.t === 'comma')) {
      for (const t of toks.slice(0, declEnd)) if (t.t === 'var') decl.push(t.v);
      assign = toks[declEnd]!.t === 'assign';
      i = declEnd + 1;
    }
    const { pipe, next } = this.cmds(toks, i, base);
    if (next < toks.length) throw new TemplateError(`template: :1: unexpected "${toks[next]!.v}" in command`, 'parse');
    if (pipe.length === 0) throw new TemplateError('template: :1: missing value for command', 'parse');
    return { decl, assign, cmds: pipe, pos: toks[i]?.pos ?? base };
  }

  private cmds(toks: Tok[], start: number, base: number): { pipe: Cmd[]; next: number } {
    const cmds: Cmd[] = [];
    let i = start;
    let args: Arg[] = [];
    const flush = (): void => {
      if (args.length === 0) throw new TemplateError('template: :1: missing value for command', 'parse');
      cmds.push({ args, pos: args[0]!.pos }); args = [];
    };
    while (i < toks.length && toks[i]!.t !== 'rparen') {
      const t = toks[i]!;
      if (t.t === 'pipe') { flush(); i++; continue; }
      const { arg, next } = this.arg(toks, i, base);
      args.push(arg); i = next;
    }
    if (args.length > 0 || cmds.length > 0) flush();
    return { pipe: cmds, next: i };
  }

  private arg(toks: Tok[], i: number, base: number): { arg: Arg; next: number } {
    const t = toks[i]!;
    switch (t.t) {
      case 'dot': return { arg: { k: 'dot', pos: t.pos }, next: i + 1 };
      case 'field': return { arg: { k: 'field', base: 'dot', chain: t.v.slice(1).split('.'), pos: t.pos, text: t.v }, next: i + 1 };
      case 'var': {
        const [name, ...chain] = t.v.split('.');
        return chain.length > 0
          ? { arg: { k: 'field', base: 'var', varName: name, chain, pos: t.pos, text: t.v }, next: i + 1 }
          : { arg: { k: 'var', name: name!, pos: t.pos }, next: i + 1 };
      }
      case 'str': return { arg: { k: 'str', v: t.v, pos: t.pos }, next: i + 1 };
      case 'num': return { arg: { k: 'num', v: Number(t.v), pos: t.pos }, next: i + 1 };
      case 'bool': return { arg: { k: 'bool', v: t.v === 'true', pos: t.pos }, next: i + 1 };
      case 'nil': return { arg: { k: 'nil', pos: t.pos }, next: i + 1 };
      case 'ident':
        if (!(t.v in this.funcs)) throw new TemplateError(`template: :1: function "${t.v}" not defined`, 'parse');
        return { arg: { k: 'func', name: t.v, pos: t.pos }, next: i + 1 };
      case 'lparen': {
        const { pipe, next } = this.cmds(toks, i + 1, base);
        if (toks[next]?.t !== 'rparen') throw new TemplateError('template: :1: unclosed left paren', 'parse');
        const inner: Pipe = { decl: [], assign: false, cmds: pipe, pos: t.pos };
        // (pipeline).Field.Chain directly after the parenthesis
        const after = toks[next + 1];
        if (after && after.t === 'field' && after.pos === toks[next]!.pos + 1) {
          return { arg: { k: 'field', base: 'paren', inner, chain: after.v.slice(1).split('.'), pos: t.pos, text: `(…)${after.v}` }, next: next + 2 };
        }
        return { arg: { k: 'field', base: 'paren', inner, chain: [], pos: t.pos, text: '(…)' }, next: next + 1 };
      }
      default: throw new TemplateError(`template: :1: unexpected "${t.v}" in operand`, 'parse');
    }
  }
}

// ---- execution ----
interface Scope { vars: Map<string, unknown>[] }

/** Go's truth: false, 0, nil and empty strings, slices and maps are false. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !isFieldSource(v)) return Object.keys(v).length > 0;
  return true;
}

class Exec {
  out = '';
  constructor(private readonly funcs: Record<string, TemplateFunc>, private readonly lineOf: (pos: number) => string) {}

  run(nodes: Node[], dot: unknown, scope: Scope): void {
    for (const n of nodes) {
      switch (n.k) {
        case 'text': this.out += n.v; break;
        case 'action': {
          const v = this.pipe(n.pipe, dot, scope);
          if (n.pipe.decl.length === 0) this.out += this.print(v, n.pipe);
          break;
        }
        case 'if': case 'with': {
          const inner: Scope = { vars: [...scope.vars, new Map()] };
          const v = this.pipe(n.pipe, dot, inner);
          if (truthy(v)) this.run(n.list, n.k === 'with' ? v : dot, inner);
          else this.run(n.elseList, dot, inner);
          break;
        }
        case 'range': this.range(n, dot, scope); break;
      }
    }
  }

  private print(v: unknown, pipe: Pipe): string {
    const last = pipe.cmds[pipe.cmds.length - 1]!.args;
    const a = last.length === 1 ? last[0]! : undefined;
    const field = a && a.k === 'field' ? a.chain[a.chain.length - 1] : undefined;
    return formatValue(v, field);
  }

  private range(n: Extract<Node, { k: 'range' }>, dot: unknown, scope: Scope): void {
    const inner: Scope = { vars: [...scope.vars, new Map()] };
    const v = this.pipe({ ...n.pipe, decl: [] }, dot, inner);
    const entries: [unknown, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x])
      : typeof v === 'number' ? Array.from({ length: v }, (_, i) => [i, i])
      : v && typeof v === 'object' ? Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])
      : [];
    if (v !== null && v !== undefined && typeof v !== 'object' && typeof v !== 'number') {
      this.fail(n.pipe.pos, '', `range can't iterate over ${formatValue(v)}`);
    }
    if (entries.length === 0) { this.run(n.elseList, dot, inner); return; }
    for (const [k, x] of entries) {
      const frame = inner.vars[inner.vars.length - 1]!;
      if (n.pipe.decl.length === 1) frame.set(n.pipe.decl[0]!, x);
      if (n.pipe.decl.length === 2) { frame.set(n.pipe.decl[0]!, k); frame.set(n.pipe.decl[1]!, x); }
      this.run(n.list, x, inner);
    }
  }

  pipe(p: Pipe, dot: unknown, scope: Scope): unknown {
    let prev: unknown[] = [];
    let v: unknown;
    for (const c of p.cmds) { v = this.cmd(c, dot, scope, prev); prev = [v]; }
    if (p.decl.length > 0) {
      if (p.assign) {
        const frame = [...scope.vars].reverse().find((f) => f.has(p.decl[0]!));
        if (!frame) this.fail(p.pos, p.decl[0]!, `undefined variable: ${p.decl[0]}`);
        frame!.set(p.decl[0]!, v);
      } else scope.vars[scope.vars.length - 1]!.set(p.decl[p.decl.length - 1]!, v);
    }
    return v;
  }

  private cmd(c: Cmd, dot: unknown, scope: Scope, piped: unknown[]): unknown {
    const [head, ...rest] = c.args;
    if (head!.k === 'func') {
      const fn = this.funcs[head!.name]!;
      const args = [...rest.map((a) => this.arg(a, dot, scope, [])), ...piped];
      try { return fn(...args); } catch (e) {
        this.fail(head!.pos, head!.name, `error calling ${head!.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (head!.k === 'field') {
      const args = [...rest.map((a) => this.arg(a, dot, scope, [])), ...piped];
      return this.arg(head!, dot, scope, args);
    }
    if (rest.length > 0 || piped.length > 0) this.fail(head!.pos, '', `can't give argument to non-function ${this.text(head!)}`);
    return this.arg(head!, dot, scope, []);
  }

  private text(a: Arg): string {
    switch (a.k) {
      case 'field': return a.text;
      case 'str': return JSON.stringify(a.v);
      case 'num': case 'bool': return String(a.v);
      case 'var': return a.name;
      default: return a.k === 'dot' ? '.' : a.k;
    }
  }

  private arg(a: Arg, dot: unknown, scope: Scope, callArgs: unknown[]): unknown {
    switch (a.k) {
      case 'dot': return dot;
      case 'str': case 'num': case 'bool': return a.v;
      case 'nil': return null;
      case 'var': return this.variable(a.name, a.pos, scope, dot);
      case 'func': return this.funcs[a.name]!();
      case 'field': {
        let v = a.base === 'dot' ? dot : a.base === 'var' ? this.variable(a.varName!, a.pos, scope, dot) : this.pipe(a.inner!, dot, scope);
        a.chain.forEach((name, i) => {
          v = this.field(v, name, i === a.chain.length - 1 ? callArgs : [], a, i);
        });
        return v;
      }
    }
  }

  private variable(name: string, pos: number, scope: Scope, dot: unknown): unknown {
    if (name === '$') return scope.vars[0]!.get('$') ?? dot;
    for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i]!.has(name)) return scope.vars[i]!.get(name);
    return this.fail(pos, name, `undefined variable: ${name}`);
  }

  private field(v: unknown, name: string, args: unknown[], a: Extract<Arg, { k: 'field' }>, i: number): unknown {
    const at = a.base === 'dot' ? `.${a.chain.slice(0, i + 1).join('.')}` : a.text;
    if (isFieldSource(v)) {
      const r = v.field(name, args);
      if (!r.found) this.fail(a.pos, at, `can't evaluate field ${name} in type ${v.goTypeName}`);
      return r.value;
    }
    if (args.length > 0) this.fail(a.pos, at, `${name} has arguments but cannot be invoked as function`);
    if (v === null || v === undefined) return this.fail(a.pos, at, `nil pointer evaluating interface {}.${name}`);
    if (typeof v !== 'object' || Array.isArray(v)) return this.fail(a.pos, at, `can't evaluate field ${name} in type ${Array.isArray(v) ? '[]interface {}' : typeof v === 'string' ? 'string' : typeof v === 'number' ? 'float64' : 'bool'}`);
    if (!(name in (v as object))) return this.fail(a.pos, at, `map has no entry for key "${name}"`);
    return (v as Record<string, unknown>)[name];
  }

  private fail(pos: number, at: string, msg: string): never {
    throw new TemplateError(`template: :${this.lineOf(pos)}: executing "" at <${at}>: ${msg}`, 'exec');
  }
}

/** A parsed template, ready to run on many values. */
export class Template {
  private constructor(private readonly nodes: Node[], private readonly funcs: Record<string, TemplateFunc>, private readonly src: string) {}

  static parse(src: string, funcs: Record<string, TemplateFunc>): Template {
    return new Template(new Parser(split(src), funcs).parse(), funcs, src);
  }

  execute(dot: unknown): string {
    const ex = new Exec(this.funcs, (pos) => {
      const before = this.src.slice(0, pos);
      const line = before.split('\n').length;
      return `${line}:${pos - (before.lastIndexOf('\n') + 1)}`;
    });
    ex.run(this.nodes, dot, { vars: [new Map([['$', dot]])] });
    return ex.out;
  }
}
