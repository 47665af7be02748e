/**
 * POST /build: the classic builder's route. The body is the context (a tar,
 * maybe gzip-compressed); the query carries the options (t repeated,
 * dockerfile, buildargs and labels as JSON, target, nocache, rm (default
 * true), forcerm, pull, q, networkmode, platform, remote). The answer is a
 * JSON stream, opened at the first document: an error before it is an HTTP
 * error, one after it is a `{"errorDetail": …, "error": …}` line, as dockerd
 * answers (a RUN's failure carries its exit code).
 */
import { BerthError, invalidArgument } from '../../common/errors.js';
import type { BuildBackend, BuildOptions, RegistryAuth } from '../backend.js';
import type { RequestContext } from '../context.js';
import { boolParam } from '../query.js';
import type { Route } from '../router.js';
import { startJsonStream, type JsonStream } from '../stream.js';

function jsonParam<T>(q: URLSearchParams, key: string, what: string): T | undefined {
  const v = q.get(key);
  if (v === null || v === '') return undefined;
  try { return JSON.parse(v) as T; } catch { throw invalidArgument(`invalid ${what}: ${v}`); }
}

function options(q: URLSearchParams): BuildOptions {
  const args = jsonParam<Record<string, string | null>>(q, 'buildargs', 'build args') ?? {};
  const labels = jsonParam<Record<string, string>>(q, 'labels', 'labels') ?? {};
  return {
    tags: q.getAll('t').filter((t) => t !== ''),
    dockerfile: q.get('dockerfile') ?? '',
    buildArgs: new Map(Object.entries(args).map(([k, v]) => [k, v ?? undefined])),
    target: q.get('target') ?? '',
    noCache: boolParam(q, 'nocache'),
    rm: (q.get('rm') ?? '') === '' ? true : boolParam(q, 'rm'),
    forceRm: boolParam(q, 'forcerm'),
    pull: boolParam(q, 'pull'),
    quiet: boolParam(q, 'q'),
    labels,
    networkMode: q.get('networkmode') ?? '',
    platform: q.get('platform') ?? '',
  };
}

/** X-Registry-Config: base64 (URL-safe or not) JSON of credentials by registry. */
function registryConfig(header: string | string[] | undefined): Record<string, RegistryAuth> {
  if (typeof header !== 'string' || header === '') return {};
  try {
    const v: unknown = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
    return v !== null && typeof v === 'object' ? v as Record<string, RegistryAuth> : {};
  } catch {
    return {};
  }
}

async function build(b: BuildBackend, ctx: RequestContext): Promise<void> {
  const opts = options(ctx.query);
  let stream: JsonStream | undefined;
  const out = (m: Record<string, unknown>): Promise<void> => {
    stream ??= startJsonStream(ctx.res);
    return stream.write(m);
  };
  try {
    await b.build({ options: opts, remote: ctx.query.get('remote') ?? '', auth: registryConfig(ctx.req.headers['x-registry-config']), body: ctx.req }, out, ctx.signal);
  } catch (err) {
    if (stream === undefined) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { exitCode?: unknown }).exitCode;
    await stream.write({ errorDetail: typeof code === 'number' ? { code, message } : { message }, error: message });
    if (!(err instanceof BerthError)) ctx.log.warn('build failed', { error: message });
  } finally {
    stream?.end();
  }
}

export function buildRoutes(b: BuildBackend): Route[] {
  return [{ method: 'POST', path: '/build', handler: (ctx) => build(b, ctx) }];
}
