/**
 * The names the embedded DNS server knows: one entry per (network, container)
 * with the container's names on that network (its name, its aliases, its
 * hostname), its short id and its addresses. Lookups are scoped to a set of
 * networks, so a container on network A never learns names of network B.
 * Names compare case-insensitively, without the root's trailing dot.
 */
import { invalidArgument } from '../../common/errors.js';
import { sameIp } from './addr.js';


export interface DnsEntry {
  networkId: string;
  containerId: string;
  /** lowercased, without trailing dots, the short id included */
  names: string[];
  ipv4: string;
  ipv6?: string;
}

export interface Addresses { ipv4: string[]; ipv6: string[] }

export const SHORT_ID_LENGTH = 12;

export function normalizeName(name: string): string {
  return name.replace(/\.+$/, '').toLowerCase();
}

export class DnsTable {
  /** networkId → containerId → entry */
  private readonly nets = new Map<string, Map<string, DnsEntry>>();
  /** networkId → the network's name, so `web.mynet` resolves as well as `web` */
  private readonly netNames = new Map<string, string>();

  nameNetwork(networkId: string, name: string): void {
    this.netNames.set(networkId, normalizeName(name));
  }

  forgetNetwork(networkId: string): void {
    this.nets.delete(networkId);
    this.netNames.delete(networkId);
  }

  /** `names`: the container's name, its network aliases, its hostname; the short id is added here */
  add(networkId: string, containerId: string, names: string[], ipv4: string, ipv6?: string): void {
    if (networkId === '' || containerId === '') throw invalidArgument('cannot register a dns entry without a network and a container');
    const all = new Set(names.map(normalizeName).filter((n) => n !== ''));
    all.add(containerId.slice(0, SHORT_ID_LENGTH).toLowerCase());
    let net = this.nets.get(networkId);
    if (net === undefined) this.nets.set(networkId, (net = new Map()));
    net.set(containerId, { networkId, containerId, names: [...all], ipv4, ...(ipv6 ? { ipv6 } : {}) });
  }

  remove(networkId: string, containerId: string): void {
    const net = this.nets.get(networkId);
    net?.delete(containerId);
    if (net?.size === 0) this.nets.delete(networkId);
  }

  entries(networkId: string): DnsEntry[] {
    return [...(this.nets.get(networkId)?.values() ?? [])];
  }

  /**
   * The networks whose names a query may see: the network it arrived on,
   * widened to every network of the asking container when the source is one
   * of that network's containers (Docker resolves across all of them).
   * Undefined when the source is a container of another network only: it
   * reached this network's server by routing, not through its own netns.
   */
  scopeFor(networkId: string, source: string): string[] | undefined {
    const asker = this.askerOf(networkId, source);
    if (asker !== undefined) return this.networksOf(asker.containerId);
    for (const [id, net] of this.nets) {
      if (id !== networkId && [...net.values()].some((e) => holds(e, source))) return undefined;
    }
    return [networkId];
  }

  /** The container of `networkId` whose address is `source`. */
  askerOf(networkId: string, source: string): DnsEntry | undefined {
    return this.entries(networkId).find((e) => holds(e, source));
  }

  networksOf(containerId: string): string[] {
    return [...this.nets].filter(([, net]) => net.has(containerId)).map(([id]) => id);
  }

  /** Addresses for `name` in `scope`, or undefined when no container there carries the name. */
  resolve(name: string, scope: string[]): Addresses | undefined {
    const wanted = normalizeName(name);
    const found: Addresses = { ipv4: [], ipv6: [] };
    let hit = false;
    for (const networkId of scope) {
      const suffix = this.netNames.get(networkId);
      for (const e of this.entries(networkId)) {
        if (!e.names.some((n) => n === wanted || (suffix !== undefined && `${n}.${suffix}` === wanted))) continue;
        hit = true;
        if (!found.ipv4.includes(e.ipv4)) found.ipv4.push(e.ipv4);
        if (e.ipv6 !== undefined && !found.ipv6.includes(e.ipv6)) found.ipv6.push(e.ipv6);
      }
    }
    return hit ? found : undefined;
  }

  /** The name a PTR query for `ip` answers in `scope`: `<first name>.<network name>`, as Docker does. */
  reverse(ip: string, scope: string[]): string | undefined {
    for (const networkId of scope) {
      const e = this.entries(networkId).find((x) => holds(x, ip));
      if (e === undefined) continue;
      const suffix = this.netNames.get(networkId);
      return suffix === undefined ? e.names[0] : `${e.names[0]}.${suffix}`;
    }
    return undefined;
  }
}

function holds(e: DnsEntry, ip: string): boolean {
  return e.ipv4 === ip || (e.ipv6 !== undefined && sameIp(e.ipv6, ip));
}
