/**
 * A Dockerfile's lines given meaning: typed instructions grouped into
 * stages (the ARGs before the first FROM apart), checked as dockerd checks
 * them before the build begins. Words stay as written: substitution needs
 * the state of the build at that step (builder.ts).
 */
import { invalidArgument } from '../../common/errors.js';
import { jsonForm, parseDockerfile, type DockerfileLine } from './dockerfile.js';
import { parseHealthcheck, type HealthcheckSpec } from '../../common/healthcheck.js';

export { parseDuration } from '../../common/healthcheck.js';
import { rawWords } from './expand.js';

/** A command as exec form (JSON array) or shell form (the text, run by the stage's SHELL). */
export type CommandForm = { exec: string[] } | { shell: string };

export type Instruction =
  | { kind: 'from'; image: string; as: string | undefined; platform: string }
  | { kind: 'run'; command: CommandForm }
  | { kind: 'cmd' | 'entrypoint'; command: CommandForm }
  | { kind: 'env' | 'label'; words: string[] }
  | { kind: 'arg'; args: { name: string; value: string | undefined }[] }
  | { kind: 'expose'; words: string[] }
  | { kind: 'workdir' | 'user' | 'stopsignal' | 'maintainer'; text: string }
  | { kind: 'volume'; exec: string[] | undefined; text: string }
  | { kind: 'copy' | 'add'; sources: string[]; dest: string; from: string | undefined; chown: string; json: boolean }
  | { kind: 'shell'; shell: string[] }
  | { kind: 'healthcheck'; spec: HealthcheckSpec | 'none' }
  | { kind: 'onbuild'; expression: string };

export interface Step { line: DockerfileLine; ins: Instruction }

export interface Stage { index: number; name: string | undefined; from: Step & { ins: { kind: 'from' } }; steps: Step[] }

export interface ParsedDockerfile { escape: string; metaArgs: Step[]; stages: Stage[] }

const fail = (l: DockerfileLine, msg: string): never => { throw invalidArgument(`dockerfile parse error line ${l.line}: ${msg}`); };

function checkFlags(l: DockerfileLine, allowed: string[]): void {
  for (const f of l.flags.keys()) if (!allowed.includes(f)) fail(l, `unknown flag: ${f}`);
}

function command(l: DockerfileLine, name: string): CommandForm {
  const exec = jsonForm(l.rest);
  if (exec) return { exec };
  if (l.rest === '' && name === 'RUN') fail(l, `${name} requires at least one argument`);
  return { shell: l.rest };
}

function healthcheck(l: DockerfileLine): Instruction {
  try {
    return { kind: 'healthcheck', spec: parseHealthcheck(l.flags, l.rest, jsonForm) };
  } catch (err) {
    return fail(l, (err as Error).message);
  }
}

function copy(l: DockerfileLine, kind: 'copy' | 'add', escape: string): Instruction {
  checkFlags(l, kind === 'copy' ? ['from', 'chown', 'chmod'] : ['chown', 'chmod']);
  if (l.flags.has('chmod')) fail(l, 'the --chmod option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled');
  const exec = jsonForm(l.rest);
  const words = exec ?? rawWords(l.rest, escape);
  if (words.length < 2) fail(l, `${kind.toUpperCase()} requires at least two arguments, but only one was provided. Destination could not be determined.`);
  const from = l.flags.get('from');
  if (from === '') fail(l, 'COPY --from requires a stage name, an index or an image');
  return { kind, sources: words.slice(0, -1), dest: words.at(-1)!, from, chown: l.flags.get('chown') ?? '', json: exec !== undefined };
}

function arg(l: DockerfileLine, escape: string): Instruction {
  const words = rawWords(l.rest, escape);
  if (words.length === 0) fail(l, 'ARG requires exactly one argument');
  return {
    kind: 'arg',
    args: words.map((w) => {
      const i = w.indexOf('=');
      const name = i < 0 ? w : w.slice(0, i);
      if (name === '') fail(l, 'ARG names can not be blank');
      return { name, value: i < 0 ? undefined : w.slice(i + 1) };
    }),
  };
}

function keyValues(l: DockerfileLine, kind: 'env' | 'label', escape: string): Instruction {
  const name = kind.toUpperCase();
  const words = rawWords(l.rest, escape);
  if (words.length === 0) fail(l, `${name} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    // the legacy form: `ENV key value with spaces`
    const key = words[0]!;
    const value = l.rest.slice(l.rest.indexOf(key) + key.length).trim();
    if (value === '') fail(l, `${name} must have two arguments`);
    return { kind, words: [`${key}=${value}`] };
  }
  for (const w of words) {
    if (!w.includes('=')) fail(l, `Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    if (w.startsWith('=')) fail(l, `${name} names can not be blank`);
  }
  return { kind, words };
}

/** One line's instruction. */
export function toInstruction(l: DockerfileLine, escape: string): Instruction {
  switch (l.cmd) {
    case 'from': {
      checkFlags(l, ['platform']);
      const w = l.rest.split(/\s+/).filter(Boolean);
      if (w.length !== 1 && !(w.length === 3 && w[1]!.toUpperCase() === 'AS')) fail(l, 'FROM requires either one or three arguments');
      if (w.length === 3 && !/^[a-z][a-z0-9-_.]*$/.test(w[2]!.toLowerCase())) fail(l, `invalid name for build stage: "${w[2]}", name can't start with a number or contain symbols`);
      return { kind: 'from', image: w[0]!, as: w.length === 3 ? w[2]!.toLowerCase() : undefined, platform: l.flags.get('platform') ?? '' };
    }
    case 'run':
      checkFlags(l, []);
      return { kind: 'run', command: command(l, 'RUN') };
    case 'cmd': case 'entrypoint':
      return { kind: l.cmd, command: command(l, l.cmd.toUpperCase()) };
    case 'env': case 'label':
      return keyValues(l, l.cmd, escape);
    case 'arg':
      return arg(l, escape);
    case 'expose':
      if (l.rest === '') fail(l, 'EXPOSE requires at least one argument');
      return { kind: 'expose', words: rawWords(l.rest, escape) };
    case 'workdir': case 'user': case 'stopsignal': case 'maintainer':
      if (l.rest === '') fail(l, `${l.cmd.toUpperCase()} requires exactly one argument`);
      return { kind: l.cmd, text: l.rest };
    case 'volume': {
      const exec = jsonForm(l.rest);
      if (l.rest === '' || (exec !== undefined && exec.length === 0)) fail(l, 'VOLUME requires at least one argument');
      return { kind: 'volume', exec, text: l.rest };
    }
    case 'copy': case 'add':
      return copy(l, l.cmd, escape);
    case 'shell': {
      const shell = jsonForm(l.rest);
      if (!shell || shell.length === 0) fail(l, 'SHELL requires the arguments to be in JSON form');
      return { kind: 'shell', shell: shell! };
    }
    case 'healthcheck':
      return healthcheck(l);
    case 'onbuild': {
      const inner = /^(\S+)/.exec(l.rest)?.[1]?.toUpperCase();
      if (inner === undefined) fail(l, 'ONBUILD requires at least one argument');
      if (inner === 'ONBUILD') fail(l, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (inner === 'FROM' || inner === 'MAINTAINER') fail(l, `${inner} isn't allowed as an ONBUILD trigger`);
      return { kind: 'onbuild', expression: l.rest };
    }
    default:
      return fail(l, `unknown instruction: ${l.cmd.toUpperCase()}`);
  }
}

/** A Dockerfile's text as meta ARGs and stages. */
export function parseStages(text: string): ParsedDockerfile {
  const df = parseDockerfile(text);
  const metaArgs: Step[] = [];
  const stages: Stage[] = [];
  for (const line of df.lines) {
    const ins = toInstruction(line, df.escape);
    if (ins.kind === 'from') {
      stages.push({ index: stages.length, name: ins.as, from: { line, ins } as Stage['from'], steps: [] });
      continue;
    }
    if (stages.length === 0) {
      if (ins.kind !== 'arg') fail(line, `no build stage in current context`);
      metaArgs.push({ line, ins });
      continue;
    }
    stages.at(-1)!.steps.push({ line, ins });
  }
  if (stages.length === 0) throw invalidArgument(df.lines.length === 0 ? 'the Dockerfile (Dockerfile) cannot be empty' : 'No image was generated. Is your Dockerfile empty?');
  const names = new Set<string>();
  for (const s of stages) {
    if (s.name === undefined) continue;
    if (names.has(s.name)) fail(s.from.line, `duplicate stage name "${s.name}"`);
    names.add(s.name);
  }
  return { escape: df.escape, metaArgs, stages };
}

/** The single instruction of an ONBUILD trigger (run when a later build uses the image). */
export function parseTrigger(expression: string): Step {
  const df = parseDockerfile(expression);
  if (df.lines.length !== 1) throw invalidArgument(`invalid ONBUILD trigger: ${expression}`);
  return { line: df.lines[0]!, ins: toInstruction(df.lines[0]!, df.escape) };
}
