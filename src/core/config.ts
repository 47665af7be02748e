/**
 * berth-core's configuration: defaults, then the JSON config file, then the
 * command-line flags. The runtime table maps a name to a binary speaking the
 * runc command line; `berth-runtime` is always present (Berth's own, next to
 * the bundle in bin/), others (`runc`) are added in the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidArgument, wrap } from '../common/errors.js';
import type { Level } from '../common/log.js';
import { setLayerSizeLimit } from './unpack/apply.js';

export interface RuntimeEntry { path: string; args: string[] }

export interface CoreConfig {
  address: string;
  root: string;
  state: string;
  logLevel: Level;
  logFile: string | undefined;
  defaultRuntime: string;
  runtimes: Record<string, RuntimeEntry>;
  /** the default snapshotter: overlayfs (native is used when overlay does not work) or native */
  snapshotter: 'overlayfs' | 'native';
  /** registries (host[:port]) reached over http; 127.0.0.0/8 and ::1 always are */
  insecureRegistries: string[];
  /** the fast path: tasks of Berth's own berth-runtime are planned in-process (config `fast-path`, default true) */
  fastPath: boolean;
  /** most uncompressed bytes of one image layer (config `max-layer-size`, default 64 GiB): a decompression bomb is refused there */
  maxLayerSize: number;
}

export const DEFAULT_ADDRESS = '/run/berth/core.sock';
export const DEFAULT_ROOT = '/var/lib/berth/core';
export const DEFAULT_STATE = '/run/berth/core';
export const DEFAULT_RUNTIME = 'berth-runtime';
export const DEFAULT_MAX_LAYER_SIZE = 64 * 2 ** 30;
const LEVELS: Level[] = ['debug', 'info', 'warning', 'error'];

/** bin/berth-runtime of this installation: walk up from this module to a dir with bin/berth-runtime. */
export function bundledRuntimePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'bin', 'berth-runtime');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) return 'berth-runtime';
    dir = up;
  }
}

/** berth-sandbox (issue 7) and berth-vm (issue 8) sit next to berth-runtime when this installation built them. */
function bundledSandbox(): Record<string, RuntimeEntry> {
  const out: Record<string, RuntimeEntry> = {};
  for (const name of ['berth-sandbox', 'berth-vm']) {
    const path = join(dirname(bundledRuntimePath()), name);
    if (existsSync(path)) out[name] = { path, args: [] };
  }
  return out;
}

export function defaultConfig(): CoreConfig {
  return {
    address: DEFAULT_ADDRESS, root: DEFAULT_ROOT, state: DEFAULT_STATE, logLevel: 'info', logFile: undefined,
    defaultRuntime: DEFAULT_RUNTIME,
    runtimes: { [DEFAULT_RUNTIME]: { path: bundledRuntimePath(), args: [] }, ...bundledSandbox() },
    snapshotter: 'overlayfs', insecureRegistries: [],
    fastPath: true,
    maxLayerSize: DEFAULT_MAX_LAYER_SIZE,
  };
}

export type ConfigOverrides = Partial<Pick<CoreConfig, 'address' | 'root' | 'state' | 'logLevel' | 'logFile'>>;

function str(file: string, key: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw invalidArgument(`invalid config ${file}: ${key} must be a non-empty string`);
  return v;
}

function level(file: string, v: unknown): Level {
  const s = str(file, 'log-level', v);
  const l = s === 'warn' ? 'warning' : s;
  if (!LEVELS.includes(l as Level)) throw invalidArgument(`invalid config ${file}: log-level ${JSON.stringify(s)} is not one of ${LEVELS.join(', ')}`);
  return l as Level;
}

function runtimes(file: string, v: unknown): Record<string, RuntimeEntry> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`invalid config ${file}: runtimes must be an object of name: {path, args}`);
  const out: Record<string, RuntimeEntry> = {};
  for (const [name, entry] of Object.entries(v as Record<string, unknown>)) {
    const e = (entry ?? {}) as { path?: unknown; args?: unknown };
    const path = str(file, `runtimes.${name}.path`, e.path);
    if (!isAbsolute(path) && path.includes('/')) throw invalidArgument(`invalid config ${file}: runtimes.${name}.path must be absolute or a bare command name`);
    const args = e.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw invalidArgument(`invalid config ${file}: runtimes.${name}.args must be a list of strings`);
    out[name] = { path, args: args as string[] };
  }
  return out;
}

function snapshotter(file: string, v: unknown): 'overlayfs' | 'native' {
  const s = str(file, 'snapshotter', v);
  if (s !== 'overlayfs' && s !== 'native') throw invalidArgument(`invalid config ${file}: snapshotter ${JSON.stringify(s)} is not overlayfs or native`);
  return s;
}

function stringList(file: string, key: string, v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '')) throw invalidArgument(`invalid config ${file}: ${key} must be a list of strings`);
  return v as string[];
}

/** Reads a config file (JSON) over the defaults; unknown keys are refused so typos show. */
export function parseConfigFile(file: string, text: string, base: CoreConfig = defaultConfig()): CoreConfig {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (err) { throw invalidArgument(`invalid config ${file}: ${(err as Error).message}`); }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument(`invalid config ${file}: not a JSON object`);
  const out: CoreConfig = { ...base, runtimes: { ...base.runtimes } };
  for (const [key, v] of Object.entries(raw as Record<string, unknown>)) {
    switch (key) {
      case 'address': out.address = str(file, key, v); break;
      case 'root': out.root = str(file, key, v); break;
      case 'state': out.state = str(file, key, v); break;
      case 'log-level': out.logLevel = level(file, v); break;
      case 'log-file': out.logFile = str(file, key, v); break;
      case 'default-runtime': out.defaultRuntime = str(file, key, v); break;
      case 'runtimes': Object.assign(out.runtimes, runtimes(file, v)); break;
      case 'snapshotter': out.snapshotter = snapshotter(file, v); break;
      case 'insecure-registries': out.insecureRegistries = stringList(file, key, v); break;
      case 'fast-path':
        if (typeof v !== 'boolean') throw invalidArgument(`invalid config ${file}: fast-path must be true or false`);
        out.fastPath = v;
        break;
      case 'max-layer-size':
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw invalidArgument(`invalid config ${file}: max-layer-size must be a positive number of bytes`);
        out.maxLayerSize = v;
        break;
      default: throw invalidArgument(`invalid config ${file}: unknown key ${JSON.stringify(key)}`);
    }
  }
  if (!out.runtimes[out.defaultRuntime]) throw invalidArgument(`invalid config ${file}: default-runtime ${out.defaultRuntime} is not in runtimes`);
  return out;
}

export function loadConfig(file: string | undefined, overrides: ConfigOverrides): CoreConfig {
  let config = defaultConfig();
  if (file !== undefined) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch (err) { throw wrap(`cannot read config ${file}`, err); }
    config = parseConfigFile(file, text, config);
  }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (config as unknown as Record<string, unknown>)[k] = v;
  if (overrides.logLevel !== undefined) config.logLevel = level('--log-level', overrides.logLevel);
  // every path that applies layers (pull, load, import) takes its limit from here
  setLayerSizeLimit(config.maxLayerSize);
  return config;
}
