/**
 * Loads berth-core's API from proto/ (the one declaration of it) for both the
 * server and the client. The .proto files are read at run time: from the
 * repository when running from source, from `../proto` next to the bundles
 * in dist/ — so the search walks up from this module's directory.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
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

let cached: Record<ServiceName, grpc.ServiceClientConstructor> | undefined;

/** The service constructors (their `.service` is the definition a server adds). */
export function loadServices(): Record<ServiceName, grpc.ServiceClientConstructor> {
  if (cached) return cached;
  const definition = protoLoader.loadSync(API_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
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
