/**
 * The core's in-process event bus. Services publish what changed
 * (`/namespaces/create`, `/containers/update` …) with the namespace it
 * happened in; the Events service streams envelopes to subscribers whose
 * filters (topic prefixes, namespaces) they pass. Delivery is synchronous
 * and in order; a subscriber that throws is dropped, never the publisher.
 */
export interface EventEnvelope {
  /** ms since the epoch */
  timestamp: number;
  namespace: string;
  topic: string;
  /** the event as a JSON-able object */
  event: unknown;
}

export interface EventFilter {
  /** topic prefixes; empty: every topic */
  topics: string[];
  /** empty: every namespace */
  namespaces: string[];
}

export type Unsubscribe = () => void;

/** A prefix matches on path boundaries: /containers matches /containers/create, not /containersx. */
export function topicMatches(topic: string, prefix: string): boolean {
  if (prefix === '' || prefix === '/') return true;
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return topic === p || topic.startsWith(p + '/');
}

export function passes(e: EventEnvelope, f: EventFilter): boolean {
  const topicOk = f.topics.length === 0 || f.topics.some((t) => topicMatches(e.topic, t));
  const nsOk = f.namespaces.length === 0 || f.namespaces.includes(e.namespace);
  return topicOk && nsOk;
}

/** Topics are absolute paths of lowercase words: /containers/create. */
export function isValidTopic(topic: string): boolean {
  return /^(\/[a-z0-9_.-]+)+$/.test(topic);
}

export class EventBus {
  private readonly subscribers = new Set<{ filter: EventFilter; deliver: (e: EventEnvelope) => void; end: () => void }>();

  publish(namespace: string, topic: string, event: unknown): EventEnvelope {
    const envelope: EventEnvelope = { timestamp: Date.now(), namespace, topic, event };
    for (const s of [...this.subscribers]) {
      if (!passes(envelope, s.filter)) continue;
      try { s.deliver(envelope); } catch { this.subscribers.delete(s); }
    }
    return envelope;
  }

  /** `end` is called when the bus closes (the core stops), so streams finish cleanly. */
  subscribe(filter: EventFilter, deliver: (e: EventEnvelope) => void, end: () => void = () => {}): Unsubscribe {
    const entry = { filter, deliver, end };
    this.subscribers.add(entry);
    return () => { this.subscribers.delete(entry); };
  }

  close(): void {
    const all = [...this.subscribers];
    this.subscribers.clear();
    for (const s of all) { try { s.end(); } catch { /* a closing stream may already be gone */ } }
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}
