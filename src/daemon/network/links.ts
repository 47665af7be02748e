/**
 * Bridges and veth pairs through iproute2, batched: one `ip -batch` inside
 * the container's namespace per endpoint (vethLines). The host end of a
 * container's veth is `vb<12 hex>`, in berthd's namespace on the bridge;
 * the inner end is eth0, eth1 …
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { BerthError } from '../../common/errors.js';
import { ipBatch, run, sysctl } from './sys.js';

export const VETH_PREFIX = 'vb';

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** The bridge with its gateway address, up, routing 127/8 for DNATed loopback connections. */
export function ensureBridge(name: string, gatewayCidr: string, mtu: number | undefined): void {
  const lines: string[] = [];
  if (!linkExists(name)) lines.push(`link add name ${name}${mtu ? ` mtu ${mtu}` : ''} type bridge`);
  lines.push(`addr replace ${gatewayCidr} dev ${name}`, `link set ${name} up`);
  ipBatch(lines, `cannot set up bridge ${name}`);
  sysctl(`net.ipv4.conf.${name}.route_localnet`, '1');
}

export function deleteLink(name: string): void {
  if (!linkExists(name)) return;
  try { ipBatch([`link del ${name}`], `cannot delete ${name}`); } catch { /* gone meanwhile */ }
}

export function vethName(containerId: string, networkId: string): string {
  return VETH_PREFIX + createHash('sha256').update(`${containerId}/${networkId}`).digest('hex').slice(0, 12);
}

/** Docker's MAC for an address: 02:42 and the four bytes of the IPv4 address. */
export function macFor(ip: string): string {
  return ['02', '42', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

export interface VethPlan {
  veth: string;
  bridge: string;
  netns: string;
  ifname: string;
  ip: string;
  prefix: number;
  mac: string;
  /** the default route's gateway (none: no route out) */
  gateway?: string;
  mtu?: number;
}

/**
 * The `ip -batch` lines, run inside the container's namespace, that plug it
 * into a bridge: the pair is made from inside with its host end created
 * directly in berthd's namespace (`netns <berthd's pid>`) and plugged there
 * at once (`master if<index>`: the bridge's index, as the name means nothing
 * inside), up; the inner end gets its name, MAC, address and route. So one
 * `ip` does all of it, with no second process back in berthd's namespace.
 */
export function vethLines(p: VethPlan, bridgeIndex: number, hostPid = process.pid): string[] {
  const mtu = p.mtu ? ` mtu ${p.mtu}` : '';
  const lines = [`link add ${p.veth}${mtu} netns ${hostPid} master if${bridgeIndex} up type veth peer name ${p.ifname}${mtu} address ${p.mac}`,
    `addr add ${p.ip}/${p.prefix} dev ${p.ifname}`, `link set ${p.ifname} up`];
  if (p.gateway) lines.push(`route replace default via ${p.gateway} dev ${p.ifname}`);
  return lines;
}

/** The bridge's interface index in berthd's namespace. */
function bridgeIndex(bridge: string): number {
  try { return Number(readFileSync(`/sys/class/net/${bridge}/ifindex`, 'utf8').trim()); } catch {
    throw new BerthError('not-found', `cannot plug into bridge ${bridge}: it does not exist`);
  }
}

/** Plugs a namespace that exists already into a bridge: one `nsenter … ip -batch -`. */
export function addVeth(p: VethPlan): void {
  deleteLink(p.veth); // a pair left by a crash
  try {
    ipBatch(vethLines(p, bridgeIndex(p.bridge)), `cannot connect ${p.netns} to ${p.bridge}`, p.netns);
  } catch (err) {
    deleteLink(p.veth);
    throw err;
  }
}

/**
 * A new namespace file and its first endpoint in one child process, since
 * each child Node spawns costs several ms (tens on a loaded host): `unshare
 * --net=<file> ip -batch -` makes the namespace and, inside it, brings lo
 * up and plugs the pair (vethLines). The file must exist (an empty file to
 * bind the namespace on).
 */
export function addNetnsWithVeth(p: VethPlan): void {
  deleteLink(p.veth); // a pair left by a crash
  const lines = ['link set lo up', ...vethLines(p, bridgeIndex(p.bridge))];
  try {
    run('unshare', [`--net=${p.netns}`, 'ip', '-batch', '-'], `cannot make network namespace ${p.netns} on ${p.bridge}`, lines.join('\n') + '\n');
  } catch (err) {
    deleteLink(p.veth);
    throw err;
  }
}

/**
 * Host ends of veths plugged into one of `bridges`, and `vb` veths that lost
 * their bridge (it was deleted under them: a crash, a kill -9, a hand's `ip
 * link del`) — nobody's endpoint any more. A masterless one is taken only
 * when up: a veth being made right now by another berthd is still down
 * between its `link add` and its `master … up`.
 */
export function vethsOn(bridges: ReadonlySet<string>): string[] {
  let names: string[] = [];
  try { names = readdirSync('/sys/class/net'); } catch { return []; }
  return names.filter((n) => {
    if (!n.startsWith(VETH_PREFIX)) return false;
    const master = masterOf(n);
    return master === '' ? isUp(n) : bridges.has(master);
  });
}

function isUp(link: string): boolean {
  try { return (Number(readFileSync(`/sys/class/net/${link}/flags`, 'utf8').trim()) & 1) === 1; } catch { return false; }
}

function masterOf(link: string): string {
  try {
    const uevent = readFileSync(`/sys/class/net/${link}/master/uevent`, 'utf8');
    return /INTERFACE=(\S+)/.exec(uevent)?.[1] ?? '';
  } catch { return ''; }
}

/** The interface names a namespace's endpoints use: eth0, eth1 … the lowest free. */
export function nextIfname(taken: readonly string[]): string {
  for (let i = 0; ; i++) if (!taken.includes(`eth${i}`)) return `eth${i}`;
}
