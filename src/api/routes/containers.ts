/**
 * Container routes: create, start, stop, restart, kill, pause, unpause,
 * wait, inspect, list, rename, update, delete, prune — Docker's statuses
 * (201 create, 204 done, 304 already in that state) and shapes.
 */
import { BerthError, invalidArgument } from '../../common/errors.js';
import type { ContainersBackend, ContainerWaitCondition } from '../backend.js';
import { readJsonObject, sendJson, sendNoContent, type RequestContext } from '../context.js';
import { boolParam, intParam, parseFilters } from '../query.js';
import type { Route } from '../router.js';
import { checkShape, CONTAINER_CREATE, CONTAINER_UPDATE } from '../shapes.js';

/** `t` in seconds: absent → the container's own StopTimeout. */
function stopOptions(ctx: RequestContext): { timeout?: number; signal?: string } {
  const t = ctx.query.get('t');
  const signal = ctx.query.get('signal') ?? undefined;
  return { timeout: t === null || t === '' ? undefined : intParam(ctx.query, 't', 0), signal: signal === '' ? undefined : signal };
}

const CONDITIONS: readonly ContainerWaitCondition[] = ['not-running', 'next-exit', 'removed'];

async function wait(b: ContainersBackend, ctx: RequestContext): Promise<void> {
  const raw = ctx.query.get('condition') ?? '';
  const condition = (raw === '' ? 'not-running' : raw) as ContainerWaitCondition;
  if (!CONDITIONS.includes(condition)) throw invalidArgument(`invalid condition: "${raw}"`);
  const id = await b.resolve(ctx.params.id!);
  // the headers go out at once: the client knows the wait is in place before it starts the container
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  ctx.res.flushHeaders();
  let body: unknown;
  try {
    body = await b.wait(id, condition, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) { ctx.res.end(); return; }
    body = { StatusCode: -1, Error: { Message: (err as Error).message } };
  }
  ctx.res.end(JSON.stringify(body) + '\n');
}

export function containerRoutes(b: ContainersBackend): Route[] {
  return [
    {
      method: 'POST', path: '/containers/create', handler: async (ctx) => {
        const body = await readJsonObject(ctx.req, 'the container config');
        if (body === undefined) throw invalidArgument('config cannot be empty in order to create a container');
        checkShape(body, CONTAINER_CREATE);
        const name = ctx.query.get('name') ?? undefined;
        sendJson(ctx.res, 201, await b.create(body, name === '' ? undefined : name, ctx.query.get('platform') ?? ''));
      },
    },
    {
      method: 'GET', path: '/containers/json', handler: async (ctx) => {
        sendJson(ctx.res, 200, await b.list({
          all: boolParam(ctx.query, 'all'), limit: intParam(ctx.query, 'limit', -1), size: boolParam(ctx.query, 'size'),
          filters: parseFilters(ctx.query.get('filters')),
        }));
      },
    },
    {
      method: 'POST', path: '/containers/prune', handler: async (ctx) => {
        sendJson(ctx.res, 200, await b.prune(parseFilters(ctx.query.get('filters'))));
      },
    },
    { method: 'GET', path: '/containers/{id}/json', handler: async (ctx) => { sendJson(ctx.res, 200, await b.inspect(ctx.params.id!, boolParam(ctx.query, 'size'))); } },
    {
      method: 'POST', path: '/containers/{id}/start', handler: async (ctx) => {
        if (ctx.query.get('checkpoint')) throw invalidArgument('checkpoints are not supported');
        sendNoContent(ctx.res, (await b.start(ctx.params.id!)) ? 204 : 304);
      },
    },
    { method: 'POST', path: '/containers/{id}/stop', handler: async (ctx) => { sendNoContent(ctx.res, (await b.stop(ctx.params.id!, stopOptions(ctx))) ? 204 : 304); } },
    { method: 'POST', path: '/containers/{id}/restart', handler: async (ctx) => { await b.restart(ctx.params.id!, stopOptions(ctx)); sendNoContent(ctx.res); } },
    {
      method: 'POST', path: '/containers/{id}/kill', handler: async (ctx) => {
        const signal = ctx.query.get('signal');
        // dockerd names the kill in its error (scripts grep "Cannot kill container")
        try { await b.kill(ctx.params.id!, signal === null || signal === '' ? 'SIGKILL' : signal); } catch (err) {
          if (err instanceof BerthError) throw new BerthError(err.kind, `Cannot kill container: ${ctx.params.id!}: ${err.message}`);
          throw err;
        }
        sendNoContent(ctx.res);
      },
    },
    { method: 'POST', path: '/containers/{id}/pause', handler: async (ctx) => { await b.pause(ctx.params.id!); sendNoContent(ctx.res); } },
    { method: 'POST', path: '/containers/{id}/unpause', handler: async (ctx) => { await b.unpause(ctx.params.id!); sendNoContent(ctx.res); } },
    { method: 'POST', path: '/containers/{id}/wait', handler: (ctx) => wait(b, ctx) },
    {
      method: 'POST', path: '/containers/{id}/rename', handler: async (ctx) => {
        const name = ctx.query.get('name') ?? '';
        if (name === '') throw invalidArgument('Neither old nor new names may be empty');
        await b.rename(ctx.params.id!, name);
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/update', handler: async (ctx) => {
        const body = (await readJsonObject(ctx.req, 'the update')) ?? {};
        checkShape(body, CONTAINER_UPDATE);
        sendJson(ctx.res, 200, await b.update(ctx.params.id!, body));
      },
    },
    {
      method: 'DELETE', path: '/containers/{id}', handler: async (ctx) => {
        if (boolParam(ctx.query, 'link')) throw invalidArgument('legacy links are not supported');
        await b.remove(ctx.params.id!, { force: boolParam(ctx.query, 'force'), volumes: boolParam(ctx.query, 'v') });
        sendNoContent(ctx.res);
      },
    },
  ];
}
