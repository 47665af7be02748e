/**
 * berthd's configuration, as dockerd's: built-in defaults, then the JSON
 * file (/etc/berth/daemon.json or --config-file), then the flags. A
 * directive given both as a flag and in the file is an error (dockerd's
 * rule: the two would silently disagree), and so is a key the file should
 * not have.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { invalidArgument } from '../common/errors.js';
import type { Level } from '../common/log.js';

export const DEFAULT_CONFIG_FILE = '/etc/berth/daemon.json';
export const DEFAULT_DATA_ROOT = '/var/lib/berth';
export const DEFAULT_EXEC_ROOT = '/run/berth';
/** dockerd's default pools: 172.17–172.31 as /16s, then 192.168.0.0/16 carved in /20s. */
export const DOCKER_ADDRESS_POOLS: readonly AddressPool[] = [
  ...Array.from({ length: 15 }, (_v, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: '192.168.0.0/16', size: 20 },
];
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
export const DEFAULT_PIDFILE = '/run/berth/berthd.pid';
export const DEFAULT_RUNTIME = 'berth-runtime';

export interface RuntimeConfig { path: string; runtimeArgs: string[] }
export interface AddressPool { base: string; size: number }

export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  /** the berth-core to use; started by berthd when nothing answers there */
  coreAddress: string;
  runtimes: Record<string, RuntimeConfig>;
  defaultRuntime: string;
  logLevel: Level;
  logDriver: string;
  logOpts: Record<string, string>;
  insecureRegistries: string[];
  defaultAddressPools: AddressPool[];
  /** Berth always keeps containers running across its own restarts; the key is accepted for dockerd configs */
  liveRestore: boolean;
  group: string;
  tls: { verify: boolean; ca: string | undefined; cert: string | undefined; key: string | undefined };
}

/** The directives a flag or the file may set, by their daemon.json name. */
export interface Directives {
  hosts?: string[];
  'data-root'?: string;
  'exec-root'?: string;
  pidfile?: string;
  'core-address'?: string;
  runtimes?: Record<string, RuntimeConfig>;
  'default-runtime'?: string;
  'log-level'?: string;
  'log-driver'?: string;
  'log-opts'?: Record<string, string>;
  'insecure-registries'?: string[];
  'default-address-pools'?: AddressPool[];
  'live-restore'?: boolean;
  group?: string;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  debug?: boolean;
}

type Key = keyof Directives;
const KEYS: Key[] = ['hosts', 'data-root', 'exec-root', 'pidfile', 'core-address', 'runtimes', 'default-runtime', 'log-level',
  'log-driver', 'log-opts', 'insecure-registries', 'default-address-pools', 'live-restore', 'group', 'tlsverify', 'tlscacert',
  'tlscert', 'tlskey', 'debug'];

const LEVELS: Record<string, Level> = { debug: 'debug', info: 'info', warn: 'warning', warning: 'warning', error: 'error', fatal: 'error' };

/** Runtimes present without configuration: Berth's own, and runc when installed. */
export function builtinRuntimes(binDir: string): Record<string, RuntimeConfig> {
  const out: Record<string, RuntimeConfig> = { [DEFAULT_RUNTIME]: { path: join(binDir, DEFAULT_RUNTIME), runtimeArgs: [] } };
  for (const name of ['berth-sandbox', 'berth-vm']) {
    if (existsSync(join(binDir, name))) out[name] = { path: join(binDir, name), runtimeArgs: [] };
  }
  const runc = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'].find((p) => existsSync(p));
  if (runc !== undefined) out.runc = { path: runc, runtimeArgs: [] };
  return out;
}

function fail(file: string, why: string): never {
  throw invalidArgument(`cannot configure berthd with file ${file}: ${why}`);
}

function asString(file: string, key: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') fail(file, `${key} must be a non-empty string`);
  return v;
}

function asStringList(file: string, key: string, v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) fail(file, `${key} must be a list of strings`);
  return v as string[];
}

function asRuntimes(file: string, v: unknown): Record<string, RuntimeConfig> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(file, 'runtimes must be an object of name: {"path", "runtimeArgs"}');
  const out: Record<string, RuntimeConfig> = {};
  for (const [name, raw] of Object.entries(v as Record<string, unknown>)) {
    const e = (raw ?? {}) as { path?: unknown; runtimeArgs?: unknown };
    const path = asString(file, `runtimes.${name}.path`, e.path);
    out[name] = { path, runtimeArgs: e.runtimeArgs === undefined ? [] : asStringList(file, `runtimes.${name}.runtimeArgs`, e.runtimeArgs) };
  }
  return out;
}

function asPools(file: string, v: unknown): AddressPool[] {
  if (!Array.isArray(v)) fail(file, 'default-address-pools must be a list of {"base": "CIDR", "size": N}');
  return v.map((p: unknown, i: number) => {
    const e = (p ?? {}) as { base?: unknown; size?: unknown };
    const base = asString(file, `default-address-pools[${i}].base`, e.base);
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(base);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) fail(file, `default-address-pools[${i}].base ${base} is not an IPv4 CIDR`);
    const size = e.size;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < Number(m[5]) || size > 32) {
      fail(file, `default-address-pools[${i}].size must be an integer between ${m[5]} and 32`);
    }
    return { base, size };
  });
}

function asStringMap(file: string, key: string, v: unknown): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((s) => typeof s === 'string')) {
    fail(file, `${key} must be an object of strings`);
  }
  return v as Record<string, string>;
}

function asBool(file: string, key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(file, `${key} must be true or false`);
  return v;
}

/** Reads daemon.json text into directives; unknown keys are refused as dockerd refuses them. */
export function parseConfigFile(file: string, text: string): Directives {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (err) { fail(file, (err as Error).message); }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(file, 'not a JSON object');
  const unknown = Object.keys(raw as object).filter((k) => !KEYS.includes(k as Key));
  if (unknown.length > 0) fail(file, `the following directives don't match any configuration option: ${unknown.join(', ')}`);
  const r = raw as Record<string, unknown>;
  const d: Directives = {};
  for (const key of Object.keys(r) as Key[]) {
    const v = r[key];
    switch (key) {
      case 'hosts': case 'insecure-registries': d[key] = asStringList(file, key, v); break;
      case 'runtimes': d.runtimes = asRuntimes(file, v); break;
      case 'default-address-pools': d['default-address-pools'] = asPools(file, v); break;
      case 'log-opts': d['log-opts'] = asStringMap(file, key, v); break;
      case 'live-restore': case 'tlsverify': case 'debug': d[key] = asBool(file, key, v); break;
      default: d[key] = asString(file, key, v);
    }
  }
  return d;
}

function render(v: unknown): string {
  return Array.isArray(v) ? `[${v.join(' ')}]` : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** A directive set both ways is refused, listing each with both values (as dockerd does). */
export function checkConflicts(file: string, flags: Directives, fromFile: Directives): void {
  const both = (Object.keys(flags) as Key[]).filter((k) => flags[k] !== undefined && fromFile[k] !== undefined);
  if (both.length === 0) return;
  const list = both.map((k) => `${k}: (from flag: ${render(flags[k])}, from file: ${render(fromFile[k])})`).join(', ');
  fail(file, `the following directives are specified both as a flag and in the configuration file: ${list}`);
}

function level(v: string): Level {
  const l = LEVELS[v.toLowerCase()];
  if (l === undefined) throw invalidArgument(`invalid log level ${JSON.stringify(v)}: expected debug, info, warn, error or fatal`);
  return l;
}

function absolute(what: string, p: string): string {
  if (!isAbsolute(p)) throw invalidArgument(`invalid ${what} ${p}: the path must be absolute`);
  return p;
}

/**
 * The effective configuration: defaults < file < flags, with conflicts
 * refused. `binDir` is where Berth's executables are (for the built-in
 * runtimes).
 */
export function resolveConfig(flags: Directives, file: { path: string; directives: Directives } | undefined, binDir: string): DaemonConfig {
  if (file) checkConflicts(file.path, flags, file.directives);
  const d: Directives = { ...(file?.directives ?? {}), ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
  const runtimes = builtinRuntimes(binDir);
  for (const [name, r] of Object.entries(d.runtimes ?? {})) {
    if (name === DEFAULT_RUNTIME) throw invalidArgument(`runtime name '${DEFAULT_RUNTIME}' is reserved`);
    runtimes[name] = r;
  }
  const defaultRuntime = d['default-runtime'] ?? DEFAULT_RUNTIME;
  if (!runtimes[defaultRuntime]) throw invalidArgument(`default runtime ${defaultRuntime} is not a configured runtime (${Object.keys(runtimes).sort().join(', ')})`);
  const execRoot = absolute('exec-root', d['exec-root'] ?? DEFAULT_EXEC_ROOT);
  const tls = { verify: d.tlsverify ?? false, ca: d.tlscacert, cert: d.tlscert, key: d.tlskey };
  if (tls.verify && (tls.ca === undefined || tls.cert === undefined || tls.key === undefined)) {
    throw invalidArgument('--tlsverify needs --tlscacert, --tlscert and --tlskey');
  }
  return {
    hosts: d.hosts && d.hosts.length > 0 ? d.hosts : [DEFAULT_HOST],
    dataRoot: absolute('data-root', d['data-root'] ?? DEFAULT_DATA_ROOT),
    execRoot,
    pidfile: absolute('pidfile', d.pidfile ?? (d['exec-root'] !== undefined ? join(execRoot, 'berthd.pid') : DEFAULT_PIDFILE)),
    coreAddress: absolute('core-address', d['core-address'] ?? join(execRoot, 'core.sock')),
    runtimes,
    defaultRuntime,
    logLevel: d.debug ? 'debug' : level(d['log-level'] ?? 'info'),
    logDriver: d['log-driver'] ?? 'json-file',
    logOpts: d['log-opts'] ?? {},
    insecureRegistries: d['insecure-registries'] ?? [],
    defaultAddressPools: d['default-address-pools'] ?? DOCKER_ADDRESS_POOLS.map((p) => ({ ...p })),
    liveRestore: true,
    group: d.group ?? 'docker',
    tls,
  };
}

/** Parses `NAME=PATH` of --add-runtime. */
export function parseAddRuntime(spec: string): [string, RuntimeConfig] {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) throw invalidArgument(`invalid --add-runtime ${spec}: expected NAME=PATH`);
  return [spec.slice(0, eq), { path: spec.slice(eq + 1), runtimeArgs: [] }];
}
