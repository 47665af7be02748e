/** Network routes: list, inspect, create, remove, connect, disconnect, prune (Docker's shapes). */
import { invalidArgument } from '../../common/errors.js';
import type { NetworksBackend } from '../backend.js';
import { readJsonObject, sendJson, sendNoContent } from '../context.js';
import { checkShape, NETWORK_CREATE } from '../shapes.js';
import { parseFilters } from '../query.js';
import type { Route } from '../router.js';

function containerOf(body: Record<string, unknown> | undefined, verb: string): string {
  const c = body?.Container;
  if (typeof c !== 'string' || c === '') throw invalidArgument(`invalid network ${verb} request: Container must name a container`);
  return c;
}

export function networkRoutes(backend: NetworksBackend): Route[] {
  return [
    { method: 'GET', path: '/networks', handler: async (ctx) => sendJson(ctx.res, 200, await backend.list(parseFilters(ctx.query.get('filters')))) },
    {
      method: 'POST', path: '/networks/create', handler: async (ctx) => {
        const body = await readJsonObject(ctx.req, 'the network create request') ?? {};
        if (typeof body.Name !== 'string') throw invalidArgument('invalid network create request: Name must be a string');
        checkShape(body, NETWORK_CREATE);
        sendJson(ctx.res, 201, await backend.create(body));
      },
    },
    { method: 'POST', path: '/networks/prune', handler: async (ctx) => sendJson(ctx.res, 200, await backend.prune(parseFilters(ctx.query.get('filters')))) },
    { method: 'GET', path: '/networks/{id}', handler: async (ctx) => sendJson(ctx.res, 200, await backend.inspect(ctx.params.id!)) },
    {
      method: 'DELETE', path: '/networks/{id}', handler: async (ctx) => {
        await backend.remove(ctx.params.id!);
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST', path: '/networks/{id}/connect', handler: async (ctx) => {
        const body = await readJsonObject(ctx.req, 'the network connect request');
        await backend.connect(ctx.params.id!, containerOf(body, 'connect'), body?.EndpointConfig);
        ctx.res.writeHead(200).end();
      },
    },
    {
      method: 'POST', path: '/networks/{id}/disconnect', handler: async (ctx) => {
        const body = await readJsonObject(ctx.req, 'the network disconnect request');
        await backend.disconnect(ctx.params.id!, containerOf(body, 'disconnect'), body?.Force === true);
        ctx.res.writeHead(200).end();
      },
    },
  ];
}
