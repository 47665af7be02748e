/**
 * The daemon's event bus: everything the engine does that Docker reports
 * (container start, image pull, volume create, daemon reload …) is
 * published here, kept in a bounded history for `since`, and streamed to
 * every /events subscriber passing its filters.
 */
import type { EngineEvent, EventQuery, EventsBackend, Filters } from '../api/index.js';

/** How many past events `since` can reach (dockerd keeps 256; a little more costs little). */
const HISTORY = 1024;

export const EVENT_FILTERS = ['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin',
  'scope', 'secret', 'service', 'type', 'volume'] as const;

export interface Actor { ID: string; Attributes: Record<string, string> }

/** Nanoseconds since the epoch, finer than Date.now() and strictly increasing per bus. */
function nowNanos(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

const nanosOf = (e: EngineEvent): bigint => BigInt(e.timeNano);

function stripTag(ref: string): string {
  const slash = ref.lastIndexOf('/');
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}

/** An ID given in full or as a prefix, or a name given exactly. */
function idOrName(filters: Filters, key: string, e: EngineEvent): boolean {
  if (!filters.has(key)) return true;
  const name = e.Actor.Attributes.name;
  return filters.get(key).some((want) => (want !== '' && e.Actor.ID.startsWith(want)) || want === name);
}

function typed(filters: Filters, key: string, type: string, e: EngineEvent): boolean {
  if (!filters.has(key)) return true;
  return e.Type === type && idOrName(filters, key, e);
}

function imageMatches(filters: Filters, e: EngineEvent): boolean {
  if (!filters.has('image')) return true;
  const refs = [e.Actor.Attributes.image, e.Type === 'image' ? e.Actor.ID : undefined, e.Type === 'image' ? e.Actor.Attributes.name : undefined]
    .filter((r): r is string => r !== undefined && r !== '');
  return filters.get('image').some((want) => refs.some((r) => r === want || stripTag(r) === want || stripTag(r) === stripTag(want)));
}

/** Docker's rules for which events a set of filters lets through. */
export function eventMatches(filters: Filters, e: EngineEvent): boolean {
  const action = e.Action.split(':')[0]!.trim();
  return filters.anyExact('event', [e.Action, action])
    && filters.exact('type', e.Type)
    && filters.exact('scope', e.scope)
    && filters.matchLabels('label', e.Actor.Attributes)
    && typed(filters, 'container', 'container', e)
    && imageMatches(filters, e)
    && typed(filters, 'daemon', 'daemon', e)
    && typed(filters, 'volume', 'volume', e)
    && typed(filters, 'network', 'network', e)
    && typed(filters, 'plugin', 'plugin', e)
    && typed(filters, 'node', 'node', e)
    && typed(filters, 'service', 'service', e)
    && typed(filters, 'secret', 'secret', e)
    && typed(filters, 'config', 'config', e);
}

type Listener = (e: EngineEvent) => void;

export class EventBus implements EventsBackend {
  readonly eventFilters = EVENT_FILTERS;
  private readonly history: EngineEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private last = 0n;

  /** Records an event and hands it to every subscriber. */
  publish(type: string, action: string, actor: Actor, scope: 'local' | 'swarm' = 'local'): EngineEvent {
    let t = nowNanos();
    if (t <= this.last) t = this.last + 1n;
    this.last = t;
    const e: EngineEvent = {
      Type: type, Action: action, Actor: { ID: actor.ID, Attributes: { ...actor.Attributes } }, scope,
      time: Number(t / 1_000_000_000n), timeNano: Number(t),
    };
    this.history.push(e);
    if (this.history.length > HISTORY) this.history.shift();
    for (const l of this.listeners) l(e);
    return e;
  }

  /** Past events from `since`, then live ones, ending at `until` or when `signal` aborts. */
  async *events(query: EventQuery, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    const { since, until, filters } = query;
    const pass = (e: EngineEvent): boolean => (until === undefined || nanosOf(e) <= until) && eventMatches(filters, e);
    // subscribe before reading the history, so nothing published in between is lost
    const queue: EngineEvent[] = [];
    let wake: (() => void) | undefined;
    const listener: Listener = (e) => { queue.push(e); wake?.(); };
    this.listeners.add(listener);
    const onAbort = (): void => wake?.();
    signal.addEventListener('abort', onAbort);
    let timer: NodeJS.Timeout | undefined;
    try {
      let seen = 0n;
      if (since !== undefined) {
        for (const e of this.history.slice()) {
          if (nanosOf(e) < since) continue;
          seen = nanosOf(e);
          if (pass(e)) yield e;
        }
      }
      if (until !== undefined) {
        const left = Number((until - nowNanos()) / 1_000_000n);
        if (left <= 0) return;
        timer = setTimeout(() => wake?.(), left + 1);
      }
      while (!signal.aborted) {
        while (queue.length > 0) {
          const e = queue.shift()!;
          if (nanosOf(e) <= seen) continue;
          if (until !== undefined && nanosOf(e) > until) return;
          if (pass(e)) yield e;
        }
        if (until !== undefined && nowNanos() > until) return;
        await new Promise<void>((resolve) => { wake = resolve; });
        wake = undefined;
      }
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      this.listeners.delete(listener);
    }
  }

  /** How many /events streams are following (tests check that none leaks). */
  get subscribers(): number { return this.listeners.size; }
}
