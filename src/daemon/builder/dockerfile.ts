/**
 * The Dockerfile's syntax, as dockerd's classic builder reads it: parser
 * directives at the top (`# escape=`, `# syntax=`), comments, line
 * continuations with the escape character, one instruction per logical
 * line, its flags (`--from=x`) and, for the instructions that have one,
 * the JSON (exec) form. Meaning is given later (instructions.ts).
 */
import { invalidArgument } from '../../common/errors.js';

export interface DockerfileLine {
  /** the instruction, lower case (`run`) */
  cmd: string;
  /** the logical line as written (continuations joined), for "Step N/M : …" */
  original: string;
  /** what follows the instruction and its flags, trimmed */
  rest: string;
  /** `--name=value` flags before the arguments (`--name` alone is `name=`) */
  flags: Map<string, string>;
  /** the first physical line (1-based) */
  line: number;
}

export interface Dockerfile { escape: string; lines: DockerfileLine[] }

/** Instructions whose flags are parsed (others take `--x` as an argument). */
const FLAGGED = new Set(['from', 'copy', 'add', 'run', 'healthcheck']);

export const KNOWN = new Set([
  'from', 'run', 'cmd', 'entrypoint', 'env', 'arg', 'label', 'expose', 'workdir', 'user', 'volume', 'copy', 'add',
  'shell', 'stopsignal', 'healthcheck', 'onbuild', 'maintainer',
]);

const HEREDOC = /(^|\s)<<-?(["']?)[A-Za-z_][A-Za-z0-9_]*\2(\s|$)/;

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;

/** Reads the parser directives at the top; returns the escape token and where the body starts. */
function directives(lines: string[]): { escape: string; start: number } {
  let escape = '\\';
  const seen = new Set<string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (seen.has(key)) throw invalidArgument(`only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw invalidArgument(`invalid ESCAPE '${m[2]}'. Must be \` or \\`);
      escape = m[2]!;
    }
  }
  return { escape, start: i };
}

/** The line without its trailing escape character, when it has one (a continuation). */
function continued(line: string, escape: string): string | undefined {
  const t = line.replace(/\s+$/, '');
  return t.endsWith(escape) ? t.slice(0, -1) : undefined;
}

/** `--name=value` flags at the start of rest; the rest after them. */
export function splitFlags(rest: string): { flags: Map<string, string>; rest: string } {
  const flags = new Map<string, string>();
  let r = rest;
  for (;;) {
    const m = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(r);
    if (!m) break;
    flags.set(m[1]!.toLowerCase(), m[2] ?? '');
    r = r.slice(m[0].length);
  }
  return { flags, rest: r.trim() };
}

/** One logical line (continuations joined) as an instruction. */
function instruction(text: string, line: number): DockerfileLine {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text.trim())!;
  const cmd = m[1]!.toLowerCase();
  if (!KNOWN.has(cmd)) throw invalidArgument(`dockerfile parse error line ${line}: unknown instruction: ${m[1]!.toUpperCase()}`);
  const raw = m[2]!.trim();
  const { flags, rest } = FLAGGED.has(cmd) ? splitFlags(raw) : { flags: new Map<string, string>(), rest: raw };
  // a heredoc's body would be read as instructions: refused by name instead
  if ((cmd === 'run' || cmd === 'copy' || cmd === 'add') && !rest.startsWith('[') && HEREDOC.test(rest)) {
    throw invalidArgument(`dockerfile parse error line ${line}: heredocs are not supported by the classic builder (use BuildKit, or put the text in a file of the context)`);
  }
  return { cmd, original: text.trim(), rest, flags, line };
}

/** Parses a Dockerfile's text into its logical lines. */
export function parseDockerfile(text: string): Dockerfile {
  const physical = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const { escape, start } = directives(physical);
  const lines: DockerfileLine[] = [];
  let pending: string | undefined;
  let first = 0;
  for (let i = start; i < physical.length; i++) {
    const raw = physical[i]!;
    const trimmed = raw.trimStart();
    // comments go wherever they are, inside a continuation too; so do empty lines within one
    if (trimmed.startsWith('#')) continue;
    if (trimmed === '') continue;
    const body = pending === undefined ? trimmed : raw;
    const cont = continued(body, escape);
    if (pending === undefined) first = i + 1;
    if (cont !== undefined) { pending = (pending ?? '') + cont; continue; }
    const full = (pending ?? '') + body;
    pending = undefined;
    lines.push(instruction(full, first));
  }
  if (pending !== undefined && pending.trim() !== '') lines.push(instruction(pending, first));
  return { escape, lines };
}

/** The JSON (exec) form of rest, when it is one: an array of strings. */
export function jsonForm(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch { /* the shell form, as dockerd falls back to */ }
  return undefined;
}
