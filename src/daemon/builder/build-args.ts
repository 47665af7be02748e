/**
 * Build arguments as dockerd's classic builder keeps them: the values of
 * `--build-arg`, the ARGs a stage declared (with their defaults), the meta
 * ARGs before the first FROM (visible in a stage only when it declares them
 * again), and the predefined proxy arguments usable without a declaration
 * but kept out of the image's history unless declared.
 */
export const BUILTIN_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

export class BuildArgs {
  /** declared in this scope: name → default (undefined: none) */
  private readonly allowed = new Map<string, string | undefined>();
  /** names declared in this scope or any before (for the unused-args warning) */
  readonly referenced: Set<string>;

  constructor(private readonly fromOptions: ReadonlyMap<string, string | undefined>, referenced = new Set<string>()) {
    this.referenced = referenced;
  }

  /** A new scope for a stage (the same options and the same record of what was referenced). */
  forStage(): BuildArgs { return new BuildArgs(this.fromOptions, this.referenced); }

  declare(name: string, value: string | undefined): void {
    this.allowed.set(name, value);
    this.referenced.add(name);
  }

  /** The value an ARG name has here, if any: the option's, else its default. */
  value(name: string): string | undefined {
    if (!this.allowed.has(name) && !BUILTIN_ARGS.includes(name)) return undefined;
    const given = this.fromOptions.get(name);
    if (given !== undefined) return given;
    return this.allowed.get(name);
  }

  /** Every declared (or given builtin) arg with a value, not shadowed by an ENV of the same name. */
  filterAllowed(env: readonly string[]): [string, string][] {
    const envKeys = new Set(env.map((e) => e.split('=')[0]!));
    const names = new Set([...this.allowed.keys(), ...BUILTIN_ARGS]);
    const out: [string, string][] = [];
    for (const n of names) {
      const v = this.value(n);
      if (v !== undefined && !envKeys.has(n)) out.push([n, v]);
    }
    return out;
  }

  /** Whether an arg goes into the history and the cache key (builtins only when declared). */
  counts(name: string): boolean { return !BUILTIN_ARGS.includes(name) || this.allowed.has(name); }

  /** Options nobody declared (dockerd's "[Warning] One or more build-args … were not consumed"). */
  unused(): string[] {
    return [...this.fromOptions.keys()].filter((k) => !this.referenced.has(k) && !BUILTIN_ARGS.includes(k)).sort();
  }
}
