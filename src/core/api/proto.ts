/**
 * Loads berth-core's API for both the server and the client. proto/ is the one
 * declaration of it. The bundles read `core-api.json` next to them instead:
 * the same API, parsed from proto/ by the build (scripts/gen-api-json.mjs)
 * and written as protobufjs JSON, because parsing nine .proto files costs
 * every berth-ctr call tens of milliseconds. From source (no such file next to
 * this module), or with BERTH_PROTO_DIR set, the .proto files are parsed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
// proto-loader's own parse (its include-path resolver and parse options), so
// the JSON is exactly what loadSync would have built from proto/
import { loadProtosWithOptionsSync } from '@grpc/proto-loader/build/src/util.js';
import { unavailable } from '../../common/errors.js';

export const API_PACKAGE = 'berth.core.v1';
export const API_FILES = ['namespaces', 'containers', 'events', 'tasks', 'images', 'content', 'snapshots', 'leases', 'gc']
  .map((n) => `berth/core/v1/${n}.proto`);
export type ServiceName = 'Namespaces' | 'Containers' | 'Events' | 'Tasks' | 'Images' | 'Content' | 'Snapshots' | 'Leases' | 'Gc';
export const SERVICE_NAMES: ServiceName[] = ['Namespaces', 'Containers', 'Events', 'Tasks', 'Images', 'Content', 'Snapshots', 'Leases', 'Gc'];

/** The metadata key naming a request's namespace (containerd: containerd-namespace). */
export const NAMESPACE_KEY = 'berth-namespace';
export const DEFAULT_NAMESPACE = 'default';

/** How messages look in JavaScript: camelCase fields, 64-bit ints as strings, defaults filled. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false, longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true,
};

/** The directory holding berth/core/v1/*.proto. */
export function protoDir(): string {
  const fromEnv = process.env.BERTH_PROTO_DIR;
  if (fromEnv) return fromEnv;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, API_FILES[0]!))) return candidate;
    const up = dirname(dir);
    if (up === dir) throw unavailable(`cannot load the berth-core api: no proto/${API_FILES[0]} above ${dirname(fileURLToPath(import.meta.url))}`);
    dir = up;
  }
}

/** The file the build writes next to the bundles (dist/). */
export const API_JSON_FILE = 'core-api.json';

/** protobufjs's JSON form of a namespace (Root.toJSON), what proto-loader's fromJSON takes. */
export type ApiJson = Parameters<typeof protoLoader.fromJSON>[0];

/** The API parsed from proto/, as protobufjs JSON (what the build writes to dist/core-api.json). */
export function apiJson(dir: string = protoDir()): ApiJson {
  return loadProtosWithOptionsSync(API_FILES, { ...LOADER_OPTIONS, includeDirs: [dir] }).toJSON();
}

/** The generated JSON next to this module (the bundle), unless told to parse proto/. */
function bundledApiJson(): string | undefined {
  if (process.env.BERTH_PROTO_DIR) return undefined;
  const file = join(dirname(fileURLToPath(import.meta.url)), API_JSON_FILE);
  return existsSync(file) ? file : undefined;
}

function loadDefinition(): protoLoader.PackageDefinition {
  const file = bundledApiJson();
  if (file === undefined) return protoLoader.loadSync(API_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
  return protoLoader.fromJSON(JSON.parse(readFileSync(file, 'utf8')) as ApiJson, LOADER_OPTIONS);
}

let cached: Record<ServiceName, grpc.ServiceClientConstructor> | undefined;

/** The service constructors (their `.service` is the definition a server adds). */
export function loadServices(): Record<ServiceName, grpc.ServiceClientConstructor> {
  if (cached) return cached;
  const definition = loadDefinition();
  const pkg = grpc.loadPackageDefinition(definition);
  const out = {} as Record<ServiceName, grpc.ServiceClientConstructor>;
  for (const name of SERVICE_NAMES) {
    const ctor = pkg[`${API_PACKAGE}.${name}`] ?? lookup(pkg, `${API_PACKAGE}.${name}`);
    if (typeof ctor !== 'function') throw unavailable(`cannot load the berth-core api: service ${name} missing`);
    out[name] = ctor as grpc.ServiceClientConstructor;
  }
  cached = out;
  return out;
}

function lookup(root: grpc.GrpcObject, path: string): unknown {
  let node: unknown = root;
  for (const part of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}
