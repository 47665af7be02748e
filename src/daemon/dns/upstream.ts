/**
 * The resolvers names outside the container table go to: the host's, read
 * from its resolv.conf (loopback ones included: berthd asks them from the
 * host), or the list in BERTHD_DNS_UPSTREAM ("ip[:port],…", for tests and
 * hosts whose resolv.conf is not the truth). A query goes to each resolver
 * in turn, over the transport the client used, with a timeout per try.
 */
import { createSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { isIP, isIPv6, connect } from 'node:net';
import { invalidArgument } from '../../common/errors.js';

export interface Upstream { host: string; port: number }

export const UPSTREAM_ENV = 'BERTHD_DNS_UPSTREAM';
export const TRY_TIMEOUT_MS = 2000;

/** `nameserver` lines of a resolv.conf text; zone ids (fe80::1%eth0) kept as node needs them. */
export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && isIP(m[1].split('%')[0]) !== 0) out.push({ host: m[1], port: 53 });
  }
  return out;
}

/** "127.0.0.1:5353,10.0.0.1,[::1]:53" → resolvers. */
export function parseUpstreamList(text: string): Upstream[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '').map(parseOne);
}

function parseOne(s: string): Upstream {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(s);
  const [host, port] = bracket ? [bracket[1], bracket[2]] : plain ? [plain[1], plain[2]] : [s, undefined];
  const p = port === undefined ? 53 : Number(port);
  if (isIP(host) === 0 || !(p > 0 && p < 65536)) throw invalidArgument(`invalid dns upstream ${s}: want ip[:port]`);
  return { host, port: p };
}

/** The host's resolvers, re-read when resolv.conf changes (DHCP, VPNs). */
export class HostResolvers {
  private cached: { mtimeMs: number; list: Upstream[] } | undefined;

  constructor(private readonly path = '/etc/resolv.conf', private readonly fixed: Upstream[] | undefined = fromEnv()) {}

  /** The list comes from BERTHD_DNS_UPSTREAM (or the constructor), not from resolv.conf. */
  overridden(): boolean {
    return this.fixed !== undefined;
  }

  list(): Upstream[] {
    if (this.fixed !== undefined) return this.fixed;
    let mtimeMs: number;
    try { mtimeMs = statSync(this.path).mtimeMs; } catch { return []; }
    if (this.cached?.mtimeMs !== mtimeMs) this.cached = { mtimeMs, list: parseResolvConf(readFileSync(this.path, 'utf8')) };
    return this.cached.list;
  }
}

function fromEnv(): Upstream[] | undefined {
  const v = process.env[UPSTREAM_ENV];
  return v === undefined || v.trim() === '' ? undefined : parseUpstreamList(v);
}

/** The raw answer to `query` from `up` over UDP, or undefined after `timeoutMs` or a mismatched id. */
export function askUdp(up: Upstream, query: Buffer, timeoutMs = TRY_TIMEOUT_MS): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    // a fresh socket per query: a random source port, and no id bookkeeping across clients
    const sock = createSocket(isIPv6(up.host.split('%')[0]) ? 'udp6' : 'udp4');
    let settled = false;
    const done = (b: Buffer | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      resolve(b);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    sock.on('message', (msg, rinfo) => {
      // only the resolver asked, answering this id, is believed
      if (rinfo.port !== up.port || msg.length < 2 || msg.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      done(msg);
    });
    sock.send(query, up.port, up.host, (err) => { if (err) done(undefined); });
  });
}

/** The raw answer (without its length prefix) to `query` from `up` over TCP, or undefined. */
export function askTcp(up: Upstream, query: Buffer, timeoutMs = TRY_TIMEOUT_MS): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: up.host, port: up.port });
    let buf = Buffer.alloc(0);
    const done = (b: Buffer | undefined): void => { clearTimeout(timer); sock.destroy(); resolve(b); };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
  });
}

/** Each resolver in turn until one answers; undefined when none does. */
export async function forward(upstreams: Upstream[], query: Buffer, transport: 'udp' | 'tcp', timeoutMs = TRY_TIMEOUT_MS): Promise<Buffer | undefined> {
  for (const up of upstreams) {
    const got = transport === 'udp' ? await askUdp(up, query, timeoutMs) : await askTcp(up, query, timeoutMs);
    if (got !== undefined) return got;
  }
  return undefined;
}
