/**
 * Image routes: create (pull or import), list, inspect, history, tag,
 * remove, push, get (save), load, prune; search answers 501. Pull, push and
 * import stream Docker's JSON progress messages; a failure before the first
 * message is a plain JSON error with its status, after it an errorDetail
 * line inside the stream, as dockerd does.
 */
import type { ServerResponse } from 'node:http';
import { invalidArgument } from '../../common/errors.js';
import type { ImagesBackend, ProgressSink, RegistryAuth } from '../backend.js';
import { sendJson, type RequestContext } from '../context.js';
import { boolParam, parseFilters } from '../query.js';
import type { Route } from '../router.js';
import { errorResponse, HttpError } from '../status.js';
import { startJsonStream, type JsonStream } from '../stream.js';

/** Decodes X-Registry-Auth (base64url JSON, as the docker CLI encodes it); empty or `{}` is no credentials. */
export function decodeRegistryAuth(header: string | undefined): RegistryAuth | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(header.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw invalidArgument('invalid X-Registry-Auth header: not base64-encoded JSON');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalidArgument('invalid X-Registry-Auth header: not a JSON object');
  const o = doc as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof o[k] === 'string' && o[k] !== '' ? o[k] as string : undefined);
  const auth: RegistryAuth = {
    username: str('username'), password: str('password'), serveraddress: str('serveraddress'),
    identitytoken: str('identitytoken'), registrytoken: str('registrytoken'),
  };
  // config.json's packed form: {"auth": base64(user:password)}
  const packed = str('auth');
  if (auth.username === undefined && packed !== undefined) {
    const plain = Buffer.from(packed, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon > 0) { auth.username = plain.slice(0, colon); auth.password = plain.slice(colon + 1); }
  }
  return auth.username === undefined && auth.identitytoken === undefined && auth.registrytoken === undefined ? undefined : auth;
}

/** A progress stream whose 200 goes out with its first message, so early failures keep their status. */
class LazyStream {
  private stream: JsonStream | undefined;
  constructor(private readonly res: ServerResponse) {}
  readonly sink: ProgressSink = (m) => { this.stream ??= startJsonStream(this.res); return this.stream.write(m); };
  get started(): boolean { return this.stream !== undefined; }
  async fail(err: unknown): Promise<void> {
    if (!this.started) throw err;
    const { message } = errorResponse(err);
    await this.stream!.write({ errorDetail: { message }, error: message });
    this.stream!.end();
  }
  end(): void { (this.stream ?? startJsonStream(this.res)).end(); }
}

async function streamed(ctx: RequestContext, work: (out: ProgressSink) => Promise<void>): Promise<void> {
  const lazy = new LazyStream(ctx.res);
  try {
    await work(lazy.sink);
  } catch (err) {
    await lazy.fail(err);
    return;
  }
  lazy.end();
}

async function* bodyOf(ctx: RequestContext): AsyncGenerator<Buffer> {
  for await (const chunk of ctx.req) yield chunk as Buffer;
}

function create(backend: ImagesBackend) {
  return async (ctx: RequestContext): Promise<void> => {
    const q = ctx.query;
    const fromImage = q.get('fromImage') ?? '';
    const fromSrc = q.get('fromSrc') ?? '';
    const platform = q.get('platform') ?? '';
    if (fromImage !== '') {
      const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
      await streamed(ctx, (out) => backend.pull({ image: fromImage, tag: q.get('tag') ?? '', platform, auth }, out, ctx.signal));
      return;
    }
    if (fromSrc !== '') {
      // the docker CLI sends '-' (the body) or the URL it was given; anything else names nothing fetchable
      if (fromSrc !== '-' && !/^https?:\/\/[^/\s]+/i.test(fromSrc)) throw invalidArgument(`invalid fromSrc ${JSON.stringify(fromSrc.slice(0, 200))}: use '-' (the request body) or an http(s) URL`);
      await streamed(ctx, (out) => backend.importImage({
        src: fromSrc, body: bodyOf(ctx), repo: q.get('repo') ?? '', tag: q.get('tag') ?? '', changes: q.getAll('changes'),
        message: q.get('message') ?? '', platform,
      }, out));
      return;
    }
    throw invalidArgument('fromImage or fromSrc is required');
  };
}

async function save(ctx: RequestContext, backend: ImagesBackend, names: string[]): Promise<void> {
  const tar = await backend.save(names);
  // the archive's first bytes prove the names were found: only then does the 200 go out
  const it = (tar as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await it.next();
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  if (first.done !== true) ctx.res.write(first.value);
  try {
    for (;;) {
      const r = await it.next();
      if (r.done === true) break;
      if (!ctx.res.write(r.value)) await new Promise((res) => ctx.res.once('drain', res));
    }
    ctx.res.end();
  } catch (err) {
    ctx.log.warn('image save failed after the archive started', { error: (err as Error).message });
    ctx.res.destroy();
  }
}

async function load(ctx: RequestContext, backend: ImagesBackend): Promise<void> {
  const { tags, ids } = await backend.load(bodyOf(ctx));
  const stream = startJsonStream(ctx.res);
  for (const t of tags) await stream.write({ stream: `Loaded image: ${t}\n` });
  for (const id of ids) await stream.write({ stream: `Loaded image ID: ${id}\n` });
  stream.end();
}

export function imageRoutes(backend: ImagesBackend): Route[] {
  return [
    { method: 'POST', path: '/images/create', handler: create(backend) },
    {
      method: 'GET', path: '/images/json', handler: async (ctx) => sendJson(ctx.res, 200, await backend.list({
        all: boolParam(ctx.query, 'all'), filters: parseFilters(ctx.query.get('filters')), digests: boolParam(ctx.query, 'digests'),
        sharedSize: boolParam(ctx.query, 'shared-size'),
      })),
    },
    {
      method: 'GET', path: '/images/search', handler: () => {
        throw new HttpError(501, 'image search is not supported by berthd: browse the registry instead');
      },
    },
    { method: 'GET', path: '/images/get', handler: (ctx) => save(ctx, backend, ctx.query.getAll('names')) },
    { method: 'POST', path: '/images/load', handler: (ctx) => load(ctx, backend) },
    {
      method: 'POST', path: '/images/prune', handler: async (ctx) => sendJson(ctx.res, 200, await backend.prune(parseFilters(ctx.query.get('filters')))),
    },
    { method: 'GET', path: '/images/{name:.*}/json', handler: async (ctx) => sendJson(ctx.res, 200, await backend.inspect(ctx.params.name!)) },
    { method: 'GET', path: '/images/{name:.*}/history', handler: async (ctx) => sendJson(ctx.res, 200, await backend.history(ctx.params.name!)) },
    { method: 'GET', path: '/images/{name:.*}/get', handler: (ctx) => save(ctx, backend, [ctx.params.name!]) },
    {
      method: 'POST', path: '/images/{name:.*}/tag', handler: async (ctx) => {
        const repo = ctx.query.get('repo') ?? '';
        if (repo === '') throw invalidArgument('repository name must have at least one component');
        await backend.tag(ctx.params.name!, repo, ctx.query.get('tag') ?? '');
        ctx.res.writeHead(201);
        ctx.res.end();
      },
    },
    {
      method: 'POST', path: '/images/{name:.*}/push', handler: async (ctx) => {
        const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
        await streamed(ctx, (out) => backend.push(ctx.params.name!, ctx.query.get('tag') ?? '', auth, out));
      },
    },
    {
      method: 'DELETE', path: '/images/{name:.*}', handler: async (ctx) => sendJson(ctx.res, 200,
        await backend.remove(ctx.params.name!, boolParam(ctx.query, 'force'), boolParam(ctx.query, 'noprune'))),
    },
  ];
}
