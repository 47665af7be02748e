/**
 * One query in, one decision out: an answer built from the container table,
 * or "forward" for names the table does not know. Pure, so every rule of
 * the embedded server is unit-tested without sockets.
 */
import * as dns from 'dns-packet';
import { fromReverseName } from './addr.js';
import type { Addresses } from './table.js';

/** Docker's embedded server answers with this TTL. */
export const TTL = 600;
/** The classic UDP limit, used when a query carries no EDNS size. */
export const UDP_MIN = 512;
/** The largest UDP answer the server sends whatever a client advertises. */
export const UDP_MAX = 4096;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The table, already narrowed to the networks the asker may see. */
export interface ScopedLookup {
  resolve(name: string): Addresses | undefined;
  reverse(ip: string): string | undefined;
}

export type Decision = { kind: 'answer'; packet: dns.Packet } | { kind: 'forward' };

export function decide(query: dns.DecodedPacket, lookup: ScopedLookup): Decision {
  const q = query.questions?.[0];
  if (query.type !== 'query' || q === undefined || (query.questions?.length ?? 0) > 1) return answer(reply(query, RCODE.FORMERR));
  if (opcodeOf(query) !== 0) return answer(reply(query, RCODE.NOTIMP));
  if (q.class !== 'IN') return { kind: 'forward' };
  if (q.type === 'PTR') return decidePtr(query, q, lookup);
  const found = lookup.resolve(q.name);
  if (found === undefined) return { kind: 'forward' };
  // a known name without records of the asked type is NODATA, never sent outside:
  // the outside must not answer for a container's name
  const packet = reply(query, RCODE.NOERROR);
  packet.flags = (packet.flags ?? 0) | dns.AUTHORITATIVE_ANSWER;
  if (q.type === 'A') packet.answers = found.ipv4.map((data) => ({ type: 'A', name: q.name, ttl: TTL, class: 'IN', data }));
  if (q.type === 'AAAA') packet.answers = found.ipv6.map((data) => ({ type: 'AAAA', name: q.name, ttl: TTL, class: 'IN', data }));
  return answer(packet);
}

function decidePtr(query: dns.DecodedPacket, q: dns.Question, lookup: ScopedLookup): Decision {
  const ip = fromReverseName(q.name);
  const name = ip === undefined ? undefined : lookup.reverse(ip);
  if (name === undefined) return { kind: 'forward' };
  const packet = reply(query, RCODE.NOERROR);
  packet.flags = (packet.flags ?? 0) | dns.AUTHORITATIVE_ANSWER;
  packet.answers = [{ type: 'PTR', name: q.name, ttl: TTL, class: 'IN', data: name }];
  return answer(packet);
}

function answer(packet: dns.Packet): Decision {
  return { kind: 'answer', packet };
}

/** A response to `query` with its id, question and RD echoed, RA set, and `rcode`. */
export function reply(query: dns.Packet, rcode: number): dns.Packet {
  const rd = (query.flags ?? 0) & dns.RECURSION_DESIRED;
  const edns = udpLimitOf(query) !== undefined;
  return {
    type: 'response',
    id: query.id ?? 0,
    flags: rd | dns.RECURSION_AVAILABLE | (rcode & 0xf),
    questions: query.questions ?? [],
    answers: [],
    // a client that spoke EDNS hears it back (RFC 6891), so it keeps its larger size
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: UDP_MAX, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  };
}

export function opcodeOf(p: dns.Packet): number {
  return ((p.flags ?? 0) >> 11) & 0xf;
}

function udpLimitOf(query: dns.Packet): number | undefined {
  const opt = query.additionals?.find((a): a is dns.OptAnswer => a.type === 'OPT');
  return opt?.udpPayloadSize;
}

/** The most a UDP answer to `query` may carry: its EDNS size within [512, 4096]. */
export function udpLimit(query: dns.Packet): number {
  return Math.min(UDP_MAX, Math.max(UDP_MIN, udpLimitOf(query) ?? UDP_MIN));
}

/**
 * Encodes `packet` for UDP: if it does not fit the client's limit, the
 * records go and the TC bit is set, so the client asks again over TCP.
 */
export function encodeForUdp(packet: dns.Packet, limit: number): Buffer {
  const full = dns.encode(packet);
  if (full.length <= limit) return full;
  return dns.encode({ ...packet, flags: (packet.flags ?? 0) | dns.TRUNCATED_RESPONSE, answers: [], authorities: [] });
}

/** A forwarded UDP answer too big for the client: header and question only, TC set. */
export function truncatedFor(query: dns.Packet, upstreamFlags: number): Buffer {
  const packet = reply(query, upstreamFlags & 0xf);
  packet.flags = (packet.flags ?? 0) | dns.TRUNCATED_RESPONSE;
  return dns.encode(packet);
}
