/**
 * Published ports: Docker's PortBindings ({"80/tcp": [{HostIp, HostPort}]})
 * and PublishAllPorts turned into one request per host port, and the
 * shapes inspect (NetworkSettings.Ports) and ps (Ports) show them in.
 */
import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../common/errors.js';
import { isIpv4 } from './ipv4.js';

export type Proto = 'tcp' | 'udp' | 'sctp';

/** One host port to publish; the range is where a host port may be taken (lo = hi: fixed; 0: ephemeral). */
export interface PortRequest { proto: Proto; containerPort: number; hostIp: string; lo: number; hi: number }

/** A published port as allocated. */
export interface Published { proto: Proto; containerPort: number; hostIp: string; hostPort: number }

interface Binding { HostIp?: string; HostPort?: string }

/** "80/tcp" → [80, 'tcp']. */
export function parsePortKey(key: string): [number, Proto] {
  const [num = '', proto = 'tcp'] = key.split('/');
  const port = Number(num);
  if (!/^\d+$/.test(num) || port < 1 || port > 65535) throw invalidArgument(`invalid port specification: "${key}"`);
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw invalidArgument(`invalid proto: ${proto}`);
  return [port, proto];
}

/** "8080" → [8080, 8080]; "8000-8010" → [8000, 8010]; "" → [0, 0]. */
export function parseHostPort(s: string | undefined): [number, number] {
  if (s === undefined || s === '') return [0, 0];
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw invalidArgument(`invalid hostPort: ${s}`);
  return [lo, hi];
}

/** Every host port the container asks for: its bindings, and with PublishAllPorts each exposed port not bound. */
export function portRequests(bindings: Record<string, unknown> | null | undefined, exposed: Record<string, unknown> | null | undefined, publishAll: boolean): PortRequest[] {
  const out: PortRequest[] = [];
  const b = bindings ?? {};
  for (const [key, list] of Object.entries(b)) {
    const [containerPort, proto] = parsePortKey(key);
    const entries = Array.isArray(list) && list.length > 0 ? (list as Binding[]) : [{}];
    for (const e of entries) {
      const hostIp = e.HostIp ?? '';
      if (hostIp !== '' && !isIpv4(hostIp)) throw invalidArgument(`invalid host IP for port ${key}: ${hostIp} (only IPv4 addresses can be published)`);
      const [lo, hi] = parseHostPort(e.HostPort);
      out.push({ proto, containerPort, hostIp: hostIp === '0.0.0.0' ? '' : hostIp, lo, hi });
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposed ?? {})) {
      if (key in b) continue;
      const [containerPort, proto] = parsePortKey(key);
      out.push({ proto, containerPort, hostIp: '', lo: 0, hi: 0 });
    }
  }
  return out;
}

/** The kernel's ephemeral range, where `-P` and unbound ports take theirs (Docker's default when unreadable). */
export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch { /* not Linux */ }
  return [49153, 60999];
}

/** Candidates for a request, in the order tried: fixed, the range, or the ephemeral range from a random start. */
export function candidates(r: PortRequest, random = Math.random): number[] {
  const [lo, hi] = r.lo === 0 ? ephemeralRange() : [r.lo, r.hi];
  const n = hi - lo + 1;
  const start = r.lo === 0 ? Math.floor(random() * n) : 0;
  return Array.from({ length: Math.min(n, r.lo === 0 ? 64 : n) }, (_v, i) => lo + ((start + i) % n));
}

/** NetworkSettings.Ports: every exposed or published port, null when not published. */
export function portsMap(exposed: Record<string, unknown> | null | undefined, published: readonly Published[]): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const key of Object.keys(exposed ?? {})) out[key.includes('/') ? key : `${key}/tcp`] = null;
  for (const p of published) {
    const key = `${p.containerPort}/${p.proto}`;
    (out[key] ??= []).push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
  }
  return out;
}

export interface PsPort { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }

/** The list ps shows (the API's Ports of /containers/json), from NetworkSettings.Ports. */
export function psPorts(ports: unknown): PsPort[] {
  const out: PsPort[] = [];
  if (ports === null || typeof ports !== 'object') return out;
  for (const [key, list] of Object.entries(ports as Record<string, { HostIp: string; HostPort: string }[] | null>)) {
    const [num = '0', proto = 'tcp'] = key.split('/');
    if (!Array.isArray(list) || list.length === 0) { out.push({ PrivatePort: Number(num), Type: proto }); continue; }
    for (const b of list) out.push({ IP: b.HostIp, PrivatePort: Number(num), PublicPort: Number(b.HostPort), Type: proto });
  }
  return out;
}
