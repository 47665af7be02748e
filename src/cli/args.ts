/**
 * Docker's flag grammar (spf13/pflag): `--name value`, `--name=value`,
 * `-it`, `-e K=V`/`-eK=V`, `--rm=false`, repeatable list flags, `--` to end
 * flags, and for run/create/exec flags only before the first argument
 * (everything after the image belongs to the container's command).
 */

export type FlagType = 'bool' | 'string' | 'list' | 'int';

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  help?: string;
  /** Default shown in help and returned when the flag is absent. */
  def?: string | boolean | number;
}

export interface ParsedArgs {
  flags: Map<string, string | boolean | number | string[]>;
  /** Names of flags the user gave (to tell "absent" from "default"). */
  given: Set<string>;
  args: string[];
}

export class UsageError extends Error {}

function lookup(specs: FlagSpec[], long?: string, short?: string): FlagSpec | undefined {
  return specs.find((s) => (long !== undefined && s.name === long) || (short !== undefined && s.short === short));
}

function setFlag(out: ParsedArgs, spec: FlagSpec, raw: string | true): void {
  out.given.add(spec.name);
  switch (spec.type) {
    case 'bool': {
      const v = raw === true ? true : raw === 'true' || raw === '1' || raw === 'TRUE' || raw === 'True' ? true
        : raw === 'false' || raw === '0' || raw === 'FALSE' || raw === 'False' ? false : undefined;
      if (v === undefined) throw new UsageError(`invalid argument "${raw}" for "--${spec.name}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
      out.flags.set(spec.name, v);
      break;
    }
    case 'int': {
      if (!/^-?\d+$/.test(String(raw))) throw new UsageError(`invalid argument "${raw}" for "${spec.short ? `-${spec.short}, ` : ''}--${spec.name}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`);
      out.flags.set(spec.name, Number(raw));
      break;
    }
    case 'list': out.flags.set(spec.name, [...((out.flags.get(spec.name) as string[] | undefined) ?? []), String(raw)]); break;
    default: out.flags.set(spec.name, String(raw));
  }
}

/** Parses argv against `specs`; `interspersed` false stops at the first positional argument. */
export function parseArgs(argv: string[], specs: FlagSpec[], interspersed = true): ParsedArgs {
  const out: ParsedArgs = { flags: new Map(), given: new Set(), args: [] };
  for (const s of specs) if (s.def !== undefined) out.flags.set(s.name, s.def);
  for (const s of specs) if (s.type === 'list') out.flags.set(s.name, []);
  let i = 0;
  const value = (spec: FlagSpec, inline: string | undefined, shown: string): string => {
    if (inline !== undefined) return inline;
    if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: ${shown}`);
    return argv[++i]!;
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { out.args.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const spec = lookup(specs, name);
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
      const inline = eq < 0 ? undefined : a.slice(eq + 1);
      setFlag(out, spec, spec.type === 'bool' ? inline ?? true : value(spec, inline, `--${name}`));
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const spec = lookup(specs, undefined, c);
        if (!spec) throw new UsageError(`unknown shorthand flag: '${c}' in ${a}`);
        if (spec.type === 'bool') {
          if (a[j + 1] === '=') { setFlag(out, spec, a.slice(j + 2)); break; }
          setFlag(out, spec, true);
          continue;
        }
        const rest = a.slice(j + 1);
        setFlag(out, spec, value(spec, rest === '' ? undefined : rest.replace(/^=/, ''), `'${c}' in -${c}`));
        break;
      }
      continue;
    }
    if (!interspersed) { out.args.push(...argv.slice(i)); break; }
    out.args.push(a);
  }
  return out;
}

/** Typed reads of a ParsedArgs. */
export class Opts {
  constructor(readonly p: ParsedArgs) {}
  bool(name: string): boolean { return this.p.flags.get(name) === true; }
  str(name: string): string { const v = this.p.flags.get(name); return typeof v === 'string' ? v : v === undefined ? '' : String(v); }
  int(name: string): number { const v = this.p.flags.get(name); return typeof v === 'number' ? v : Number(v ?? 0); }
  list(name: string): string[] { const v = this.p.flags.get(name); return Array.isArray(v) ? v : []; }
  has(name: string): boolean { return this.p.given.has(name); }
  get args(): string[] { return this.p.args; }
}
