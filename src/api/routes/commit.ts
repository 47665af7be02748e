/**
 * POST /commit: a container's changes as a new image (docker commit). The
 * query names the container, the new name (repo, tag), the history's
 * comment and author, the Dockerfile `changes` (repeated) and whether to
 * pause the container meanwhile (default: yes, as dockerd since API 1.13);
 * the body, when there is one, is the Config that replaces the container's.
 * Answers 201 {"Id": "sha256:…"}.
 */
import { invalidArgument } from '../../common/errors.js';
import type { CommitBackend } from '../backend.js';
import { readJson, sendJson, type RequestContext } from '../context.js';
import { boolParam } from '../query.js';
import type { Route } from '../router.js';

async function commit(b: CommitBackend, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const body = await readJson(ctx.req);
  // the docker client sends `null` when it has no config: the container's own
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) throw invalidArgument('invalid JSON: the config must be an object');
  const pause = (q.get('pause') ?? '') === '' ? true : boolParam(q, 'pause');
  const id = await b.commit({
    container: q.get('container') ?? '', repo: q.get('repo') ?? '', tag: q.get('tag') ?? '',
    comment: q.get('comment') ?? '', author: q.get('author') ?? '', pause, changes: q.getAll('changes'),
    config: body === undefined || body === null ? undefined : body as Record<string, unknown>,
  });
  sendJson(ctx.res, 201, { Id: id });
}

export function commitRoutes(b: CommitBackend): Route[] {
  return [{ method: 'POST', path: '/commit', handler: (ctx) => commit(b, ctx) }];
}
