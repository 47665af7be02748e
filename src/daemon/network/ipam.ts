/**
 * Address management of bridge networks: a subnet from the address pools
 * that collides with no host route and no other network, the gateway (the
 * subnet's first address unless given), and container addresses from the
 * IP range (the whole subnet unless given), lowest free first.
 */
import { alreadyExists, BerthError, invalidArgument } from '../../common/errors.js';
import { contains, formatCidr, intToIp, ipToInt, overlaps, parseCidr, size, within, type Cidr } from './ipv4.js';

export interface AddressPool { base: string; size: number }

/** dockerd's default pools: 172.17–172.31 as /16s, then 192.168.0.0/16 carved in /20s. */
export const DOCKER_POOLS: readonly AddressPool[] = [
  ...Array.from({ length: 15 }, (_v, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: '192.168.0.0/16', size: 20 },
];

/** The first subnet of the pools that overlaps nothing taken (host routes, other networks). */
export function pickSubnet(pools: readonly AddressPool[], taken: readonly Cidr[]): Cidr {
  for (const p of pools) {
    const base = parseCidr(p.base);
    const step = 2 ** (32 - p.size);
    for (let n = base.base; n < base.base + size(base); n += step) {
      const c = { base: n >>> 0, prefix: p.size };
      if (!taken.some((t) => overlaps(t, c))) return c;
    }
  }
  throw new BerthError('failed-precondition', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

/** One network's IPAM configuration, checked: Docker's IPAM.Config entry. */
export interface IpamConfig { Subnet: string; Gateway: string; IPRange?: string }

export interface Pool {
  subnet: Cidr;
  gateway: number;
  range: Cidr;
}

export function poolOf(cfg: IpamConfig): Pool {
  const subnet = parseCidr(cfg.Subnet);
  if (subnet.prefix > 30) throw invalidArgument(`invalid subnet ${cfg.Subnet}: a bridge network needs at least a /30`);
  const gateway = ipToInt(cfg.Gateway);
  if (!contains(subnet, gateway)) throw invalidArgument(`no matching subnet for gateway ${cfg.Gateway}`);
  const range = cfg.IPRange ? parseCidr(cfg.IPRange) : subnet;
  if (!within(subnet, range)) throw invalidArgument(`no matching subnet for range ${cfg.IPRange}`);
  return { subnet, gateway, range };
}

/** The IPAM config a create asks for, completed: a picked subnet, the first host as gateway. */
export function completeConfig(asked: Partial<IpamConfig> | undefined, pick: () => Cidr): IpamConfig {
  const subnet = asked?.Subnet ? parseCidr(asked.Subnet) : pick();
  const cfg: IpamConfig = { Subnet: formatCidr(subnet), Gateway: asked?.Gateway || intToIp(subnet.base + 1) };
  if (asked?.IPRange) cfg.IPRange = asked.IPRange;
  poolOf(cfg);
  return cfg;
}

/** An address for a container: `wanted` if free and inside the subnet, else the lowest free in the range. */
export function allocate(pool: Pool, used: ReadonlySet<number>, wanted?: string): number {
  const broadcast = pool.subnet.base + size(pool.subnet) - 1;
  if (wanted) {
    const n = ipToInt(wanted);
    if (!contains(pool.subnet, n)) throw invalidArgument(`invalid address ${wanted}: it does not belong to the network's subnet ${formatCidr(pool.subnet)}`);
    if (n === pool.subnet.base || n === broadcast) throw invalidArgument(`invalid address ${wanted}: it is the network or the broadcast address of ${formatCidr(pool.subnet)}`);
    if (n === pool.gateway || used.has(n)) throw alreadyExists(`Address already in use: ${wanted}`);
    return n;
  }
  const end = pool.range.base + size(pool.range);
  for (let n = pool.range.base; n < end; n++) {
    if (n === pool.subnet.base || n === broadcast || n === pool.gateway || used.has(n)) continue;
    return n;
  }
  throw new BerthError('failed-precondition', `no available IPv4 addresses on the network's range ${formatCidr(pool.range)}`);
}
