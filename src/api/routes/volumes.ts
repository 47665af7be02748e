/** Volume routes: create, list, inspect, remove, prune (Docker's shapes; the local driver behind them). */
import { invalidArgument } from '../../common/errors.js';
import type { VolumeCreateArgs, VolumesBackend } from '../backend.js';
import { readJsonObject, sendJson, sendNoContent } from '../context.js';
import { boolParam, parseFilters } from '../query.js';
import type { Route } from '../router.js';

function stringMap(body: Record<string, unknown>, key: string): Record<string, string> | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw invalidArgument(`invalid volume create request: ${key} must be an object of strings`);
  }
  return v as Record<string, string>;
}

/** The create body; unknown fields (ClusterVolumeSpec …) are tolerated. */
export function parseVolumeCreate(body: Record<string, unknown> | undefined): VolumeCreateArgs {
  const b = body ?? {};
  const str = (k: string): string | undefined => {
    const v = b[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw invalidArgument(`invalid volume create request: ${k} must be a string`);
    return v;
  };
  const name = str('Name');
  // a name is a directory name under the data root: the kernel takes at most 255 bytes
  if (name !== undefined && Buffer.byteLength(name) > 255) throw invalidArgument(`invalid volume create request: Name is ${Buffer.byteLength(name)} bytes long, at most 255`);
  return { Name: name, Driver: str('Driver'), DriverOpts: stringMap(b, 'DriverOpts'), Labels: stringMap(b, 'Labels') };
}

export function volumeRoutes(backend: VolumesBackend): Route[] {
  return [
    { method: 'GET', path: '/volumes', handler: async (ctx) => sendJson(ctx.res, 200, await backend.list(parseFilters(ctx.query.get('filters')))) },
    {
      method: 'POST', path: '/volumes/create', handler: async (ctx) => {
        sendJson(ctx.res, 201, await backend.create(parseVolumeCreate(await readJsonObject(ctx.req, 'the volume create request'))));
      },
    },
    { method: 'POST', path: '/volumes/prune', handler: async (ctx) => sendJson(ctx.res, 200, await backend.prune(parseFilters(ctx.query.get('filters')))) },
    { method: 'GET', path: '/volumes/{name}', handler: async (ctx) => sendJson(ctx.res, 200, await backend.inspect(ctx.params.name!)) },
    {
      method: 'DELETE', path: '/volumes/{name}', handler: async (ctx) => {
        await backend.remove(ctx.params.name!, boolParam(ctx.query, 'force'));
        sendNoContent(ctx.res);
      },
    },
  ];
}
