/**
 * berthd's embedded DNS server for user-defined networks. The network side
 * registers each container endpoint (network, names, address, netns) and
 * unregisters it when the container leaves; the server does the rest:
 *  - a listener on the network's gateway while the network has containers,
 *  - 127.0.0.11 in the container's netns pointed at one of its networks'
 *    listeners (the first registered; another one when that one goes),
 *  - answers from the table, scoped to the asker's networks,
 *  - every other name forwarded to the asker's resolvers.
 * Registering again (after a berthd restart) is idempotent and re-points
 * the netns. The default bridge network gets none of this, as with Docker.
 */
import { existsSync } from 'node:fs';
import * as dns from 'dns-packet';
import { failedPrecondition } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { RCODE, decide, encodeForUdp, reply, truncatedFor, udpLimit, type ScopedLookup } from './answer.js';
import { gatewayFor } from './gateway.js';
import { DnsListener, type ListenerAddress, type Transport } from './listener.js';
import { attachNetns, detachNetns } from './netns.js';
import { DnsTable } from './table.js';
import { HostResolvers, TRY_TIMEOUT_MS, forward, type Upstream } from './upstream.js';

/** One container on one user-defined network (the shape of the network side's DnsEntry). */
export interface DnsEndpoint {
  network: string;
  container: string;
  /** the container's name, aliases and hostname on that network; the short id is added if missing */
  names: string[];
  ip: string;
  ipv6?: string;
  /** the container's network namespace file */
  netns: string;
  /** the container's resolvers as they would be without the embedded server (its --dns, or the host's) */
  upstream: string[];
  /** the bridge's address; found from `ip` when absent */
  gateway?: string;
  /** lets `<name>.<network name>` resolve too */
  networkName?: string;
  /** `--internal`: no way out, so names the table does not know get SERVFAIL */
  internal?: boolean;
}

/** The hook the network side holds. */
export interface DnsRegistry {
  register(e: DnsEndpoint): Promise<void>;
  unregister(network: string, container: string): Promise<void>;
}

export interface EmbeddedDnsOptions {
  log: Logger;
  resolvers?: HostResolvers;
  /** per resolver tried */
  tryTimeoutMs?: number;
}

interface Served { network: string; netns: string }

export class EmbeddedDns implements DnsRegistry {
  readonly table = new DnsTable();
  private readonly listeners = new Map<string, { listener: DnsListener; internal: boolean }>();
  /** container → the network whose listener its 127.0.0.11 reaches */
  private readonly served = new Map<string, Served>();
  /** container → its netns and resolvers, kept from register */
  private readonly endpoints = new Map<string, { netns: string; upstream: string[] }>();
  private readonly resolvers: HostResolvers;
  private readonly log: Logger;
  private readonly tryTimeoutMs: number;
  /** register/unregister run one at a time: a listener is never opened and closed at once */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: EmbeddedDnsOptions) {
    this.log = opts.log;
    this.resolvers = opts.resolvers ?? new HostResolvers();
    this.tryTimeoutMs = opts.tryTimeoutMs ?? TRY_TIMEOUT_MS;
  }

  register(e: DnsEndpoint): Promise<void> {
    return this.serially(() => this.doRegister(e));
  }

  unregister(network: string, container: string): Promise<void> {
    return this.serially(() => this.doUnregister(network, container));
  }

  /** Where a network's server listens, while it has containers. */
  address(network: string): ListenerAddress | undefined {
    return this.listeners.get(network)?.listener.address;
  }

  /** Closes every listener; rules in live netns stay, and a restarted berthd registers them again. */
  async close(): Promise<void> {
    await this.serially(async () => {
      await Promise.all([...this.listeners.values()].map((l) => l.listener.close()));
      this.listeners.clear();
    });
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async doRegister(e: DnsEndpoint): Promise<void> {
    if (e.networkName !== undefined) this.table.nameNetwork(e.network, e.networkName);
    await this.openListener(e);
    this.table.add(e.network, e.container, e.names, e.ip, e.ipv6);
    this.endpoints.set(e.container, { netns: e.netns, upstream: e.upstream });
    const current = this.served.get(e.container);
    if (current !== undefined && current.network !== e.network && this.listeners.has(current.network)) return;
    try {
      await attachNetns(e.netns, this.address(e.network)!);
    } catch (err) {
      this.table.remove(e.network, e.container);
      await this.closeIfEmpty(e.network);
      throw err;
    }
    this.served.set(e.container, { network: e.network, netns: e.netns });
  }

  private async openListener(e: DnsEndpoint): Promise<void> {
    if (this.listeners.has(e.network)) return;
    const gateway = e.gateway ?? gatewayFor(e.ip);
    if (gateway === undefined) throw failedPrecondition(`cannot serve dns on network ${e.network}: no host address shares a subnet with ${e.ip}`);
    const listener = await DnsListener.open(gateway, (q, t, src) => this.handle(e.network, q, t, src));
    this.listeners.set(e.network, { listener, internal: e.internal === true });
    this.log.debug('dns listening', { network: e.network, ...listener.address });
  }

  private async doUnregister(network: string, container: string): Promise<void> {
    this.table.remove(network, container);
    const served = this.served.get(container);
    if (served?.network === network) await this.repoint(container, served.netns);
    if (this.table.networksOf(container).length === 0) this.endpoints.delete(container);
    await this.closeIfEmpty(network);
  }

  /** The container left the network its 127.0.0.11 reached: another of its networks serves it, or none. */
  private async repoint(container: string, netns: string): Promise<void> {
    this.served.delete(container);
    if (!existsSync(netns)) return; // the netns went, and its rules with it
    const next = this.table.networksOf(container).find((n) => this.listeners.has(n));
    try {
      if (next === undefined) await detachNetns(netns);
      else {
        await attachNetns(netns, this.address(next)!);
        this.served.set(container, { network: next, netns });
      }
    } catch (err) {
      // a netns being torn down as we speak is not worth failing a removal for
      this.log.debug('dns redirection not updated', { container, error: (err as Error).message });
    }
  }

  private async closeIfEmpty(network: string): Promise<void> {
    if (this.table.entries(network).length > 0) return;
    const l = this.listeners.get(network);
    this.listeners.delete(network);
    this.table.forgetNetwork(network);
    await l?.listener.close();
  }

  /** One query that arrived on `network`'s listener from `source`: the bytes to send back, if any. */
  async handle(network: string, raw: Buffer, transport: Transport, source: string): Promise<Buffer | undefined> {
    let query: dns.DecodedPacket;
    try {
      query = dns.decode(raw);
    } catch {
      return undefined; // not DNS: nothing worth answering
    }
    const encode = (p: dns.Packet): Buffer => (transport === 'udp' ? encodeForUdp(p, udpLimit(query)) : dns.encode(p));
    const scope = this.table.scopeFor(network, source);
    if (scope === undefined) return encode(reply(query, RCODE.REFUSED));
    const decision = decide(query, this.lookupIn(scope));
    if (decision.kind === 'answer') return encode(decision.packet);
    if (this.listeners.get(network)?.internal === true) return encode(reply(query, RCODE.SERVFAIL));
    const asker = this.table.askerOf(network, source);
    return this.forwardQuery(query, raw, transport, this.upstreamsOf(asker?.containerId));
  }

  private lookupIn(scope: string[]): ScopedLookup {
    return { resolve: (name) => this.table.resolve(name, scope), reverse: (ip) => this.table.reverse(ip, scope) };
  }

  /**
   * The asker's resolvers: its --dns servers when it has some, else the
   * host's own list, loopback resolvers included — the server runs on the
   * host, where they answer (the network side drops them, and falls back to
   * public ones, only because a container could not reach them).
   */
  upstreamsOf(container: string | undefined): Upstream[] {
    const host = this.resolvers.list();
    const given = container === undefined ? [] : this.endpoints.get(container)?.upstream ?? [];
    if (this.resolvers.overridden() || given.length === 0 || sameList(given, containerView(host))) return host;
    return given.map((h) => ({ host: h, port: 53 }));
  }

  private async forwardQuery(query: dns.DecodedPacket, raw: Buffer, transport: Transport, upstreams: Upstream[]): Promise<Buffer> {
    const got = upstreams.length === 0 ? undefined : await forward(upstreams, raw, transport, this.tryTimeoutMs);
    if (got === undefined) {
      this.log.debug('dns forward failed', { name: query.questions?.[0]?.name, upstreams: upstreams.map((u) => `${u.host}:${u.port}`) });
      return dns.encode(reply(query, RCODE.SERVFAIL));
    }
    if (transport === 'udp' && got.length > udpLimit(query)) return truncatedFor(query, got.readUInt16BE(2));
    return got;
  }
}

/** Public resolvers a container gets when the host has only loopback ones (what the network side writes). */
const CONTAINER_FALLBACK = ['8.8.8.8', '8.8.4.4'];

/** The host's list as a container's resolv.conf would carry it: loopback dropped, the fallback when empty. */
function containerView(host: Upstream[]): string[] {
  const reachable = host.filter((u) => u.port === 53 && !/^127\./.test(u.host) && u.host !== '::1').map((u) => u.host);
  return reachable.length > 0 ? reachable : CONTAINER_FALLBACK;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
