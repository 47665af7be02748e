/**
 * System routes: /_ping (GET and HEAD), /version, /info, /system/df, /auth.
 */
import { invalidArgument } from '../../common/errors.js';
import type { AuthRequest, DiskUsageKind, SystemBackend } from '../backend.js';
import { readJsonObject, sendJson, type RequestContext } from '../context.js';
import type { Route } from '../router.js';

function ping(ctx: RequestContext): void {
  // API-Version and the other negotiation headers are set on every answer by the server
  ctx.res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
  ctx.res.setHeader('Pragma', 'no-cache');
  ctx.res.setHeader('Builder-Version', '1');
  ctx.res.setHeader('Swarm', 'inactive');
  ctx.res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  if (ctx.method === 'HEAD') {
    ctx.res.setHeader('Content-Length', '0');
    ctx.res.writeHead(200);
    ctx.res.end();
    return;
  }
  ctx.res.setHeader('Content-Length', '2');
  ctx.res.writeHead(200);
  ctx.res.end('OK');
}

const DF_KINDS: readonly DiskUsageKind[] = ['container', 'image', 'volume', 'build-cache'];

function dfKinds(q: URLSearchParams): DiskUsageKind[] {
  const asked = q.getAll('type');
  if (asked.length === 0) return [...DF_KINDS];
  for (const t of asked) if (!DF_KINDS.includes(t as DiskUsageKind)) throw invalidArgument(`unknown object type: ${t}`);
  return asked as DiskUsageKind[];
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidArgument(`invalid auth request: ${key} must be a string`);
  return v;
}

/** The credentials of POST /auth; unknown fields (email, auth) are tolerated. */
export function parseAuthRequest(body: Record<string, unknown> | undefined): AuthRequest {
  if (body === undefined) throw invalidArgument('invalid auth request: empty body, expected {"username", "password", "serveraddress"}');
  const username = optionalString(body, 'username') ?? '';
  const password = optionalString(body, 'password') ?? '';
  const identitytoken = optionalString(body, 'identitytoken');
  const registrytoken = optionalString(body, 'registrytoken');
  const serveraddress = optionalString(body, 'serveraddress') ?? '';
  if (identitytoken === undefined && registrytoken === undefined && (username === '' || password === '')) {
    throw invalidArgument('invalid auth request: username and password are required');
  }
  if (serveraddress.trim() === '') throw invalidArgument('invalid auth request: serveraddress is required');
  return { username, password, serveraddress: serveraddress.trim(), identitytoken, registrytoken };
}

export function systemRoutes(backend: SystemBackend): Route[] {
  return [
    { method: 'GET', path: '/_ping', handler: ping },
    { method: 'HEAD', path: '/_ping', handler: ping },
    { method: 'GET', path: '/version', handler: async (ctx) => sendJson(ctx.res, 200, await backend.version()) },
    { method: 'GET', path: '/info', handler: async (ctx) => sendJson(ctx.res, 200, await backend.info()) },
    { method: 'GET', path: '/system/df', handler: async (ctx) => sendJson(ctx.res, 200, await backend.diskUsage(dfKinds(ctx.query))) },
    {
      method: 'POST', path: '/auth', handler: async (ctx) => {
        const req = parseAuthRequest(await readJsonObject(ctx.req, 'the auth request'));
        sendJson(ctx.res, 200, await backend.login(req));
      },
    },
  ];
}
