/**
 * GET /events: past events from `since`, then live ones until `until` or
 * until the client leaves, one JSON document per line, filtered by
 * `filters` (type, event, container, image, label …).
 */
import { invalidArgument } from '../../common/errors.js';
import type { EngineEvent, EventsBackend } from '../backend.js';
import type { RequestContext } from '../context.js';
import { parseFilters, timestampParam } from '../query.js';
import type { Route } from '../router.js';
import { startJsonStream } from '../stream.js';

/** Docker's document, with the legacy status/id/from that container and image events still carry. */
export function eventDocument(e: EngineEvent): Record<string, unknown> {
  const legacy: Record<string, unknown> = {};
  if (e.Type === 'container' || e.Type === 'image') {
    legacy.status = e.Action;
    legacy.id = e.Actor.ID;
    if (e.Type === 'container' && e.Actor.Attributes.image !== undefined) legacy.from = e.Actor.Attributes.image;
  }
  return { ...legacy, Type: e.Type, Action: e.Action, Actor: e.Actor, scope: e.scope, time: e.time, timeNano: e.timeNano };
}

function seconds(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

async function streamEvents(backend: EventsBackend, ctx: RequestContext): Promise<void> {
  const filters = parseFilters(ctx.query.get('filters'));
  filters.validate(backend.eventFilters);
  const since = timestampParam(ctx.query, 'since');
  const until = timestampParam(ctx.query, 'until');
  if (since !== undefined && until !== undefined && since > until) {
    throw invalidArgument(`\`since\` time (${seconds(since)}) cannot be after \`until\` time (${seconds(until)})`);
  }
  const stream = startJsonStream(ctx.res);
  try {
    for await (const e of backend.events({ since, until, filters }, ctx.signal)) {
      await stream.write(eventDocument(e));
      if (stream.closed) break;
    }
  } finally {
    stream.end();
  }
}

export function eventRoutes(backend: EventsBackend): Route[] {
  return [{ method: 'GET', path: '/events', handler: (ctx) => streamEvents(backend, ctx) }];
}
