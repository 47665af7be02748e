/**
 * `inspect` of any object (container, image, volume, network) and the
 * per-type `container inspect`, `image inspect` …: JSON indented as Go's
 * MarshalIndent, or one `--format` line per object.
 */
import type { Opts } from '../args.js';
import { DaemonError } from '../client.js';
import { CliError, describe, help, type CliContext, type CommandSpec } from '../command.js';
import { templateFuncs } from '../format/funcs.js';
import { Template, TemplateError } from '../format/template.js';

type Kind = 'container' | 'image' | 'volume' | 'network';
const ORDER: Kind[] = ['container', 'image', 'network', 'volume'];

function pathOf(kind: Kind, name: string, size: boolean): [string, Record<string, number | undefined>] {
  const n = encodeURIComponent(name);
  switch (kind) {
    case 'container': return [`/containers/${n}/json`, { size: size ? 1 : undefined }];
    case 'image': return [`/images/${n}/json`, {}];
    case 'volume': return [`/volumes/${n}`, {}];
    case 'network': return [`/networks/${n}`, {}];
  }
}

/** The object named `name`: of `kind`, or the first kind that has it. */
async function fetchObject(ctx: CliContext, name: string, kind: Kind | undefined, size: boolean): Promise<unknown> {
  for (const k of kind ? [kind] : ORDER) {
    const [path, query] = pathOf(k, name, size);
    try {
      return await ctx.client().json('GET', path, { query });
    } catch (e) {
      if (!(e instanceof DaemonError && e.status === 404)) throw e;
      if (kind) throw new CliError(kind === 'container' || kind === 'image' ? `Error: No such ${kind}: ${name}` : `Error response from daemon: ${e.message}`);
    }
  }
  throw new CliError(`Error: No such object: ${name}`);
}

/** Go's json.MarshalIndent(v, "", "    ") with its HTML escaping. */
export function indentJson(v: unknown): string {
  return JSON.stringify(v, null, 4).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export async function inspectObjects(ctx: CliContext, names: string[], kind: Kind | undefined, o: Opts): Promise<number> {
  const format = o.str('format');
  let tmpl: Template | undefined;
  if (format && format !== 'json') {
    try { tmpl = Template.parse(format.replace(/\\t/g, '\t').replace(/\\n/g, '\n'), templateFuncs()); } catch (e) {
      if (e instanceof TemplateError) { ctx.err(`template parsing error: ${e.message}\n`); return 64; }
      throw e;
    }
  }
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const n of names) {
    try { found.push(await fetchObject(ctx, n, kind, o.bool('size'))); } catch (e) { errors.push(describe(e)); }
  }
  let code = errors.length > 0 ? 1 : 0;
  if (tmpl) {
    for (const obj of found) {
      try { ctx.out(`${tmpl.execute(obj)}\n`); } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        ctx.err(`template parsing error: ${e.message}\n`);
        return 1;
      }
    }
  } else ctx.out(`${indentJson(found)}\n`);
  for (const e of errors) ctx.err(`${e}\n`);
  return code;
}

const flags = [{ name: 'format', short: 'f', type: 'string' as const }, { name: 'size', short: 's', type: 'bool' as const }, help()];

export const inspectCommands: CommandSpec[] = [
  {
    names: ['inspect'], usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]', summary: 'Return low-level information on Docker objects', minArgs: 1,
    flags: [...flags, { name: 'type', type: 'string' }],
    async run(ctx, o) {
      const type = o.str('type');
      if (type && !ORDER.includes(type as Kind)) throw new CliError(`"${type}" is not a valid value for --type`);
      return inspectObjects(ctx, o.args, (type || undefined) as Kind | undefined, o);
    },
  },
  ...ORDER.map((k): CommandSpec => ({
    names: [`${k} inspect`], usage: `${k} inspect [OPTIONS] ${k.toUpperCase()} [${k.toUpperCase()}...]`, summary: `Display detailed information on one or more ${k}s`,
    minArgs: 1, flags,
    run: (ctx, o) => inspectObjects(ctx, o.args, k, o),
  })),
];
