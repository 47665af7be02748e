/**
 * Bridges and veth pairs through iproute2, batched: one `ip -batch` on the
 * host and one inside the container's namespace per endpoint. The host end
 * of a container's veth is `vb<12 hex>`; its peer is made as `vp<12 hex>`
 * directly inside the namespace and renamed there (eth0, eth1 …).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/** Plugs a namespace into a bridge: the pair, the address, the default route. */
export function addVeth(p: VethPlan): void {
  const peer = `vp${p.veth.slice(VETH_PREFIX.length)}`;
  const mtu = p.mtu ? ` mtu ${p.mtu}` : '';
  deleteLink(p.veth); // a pair left by a crash
  ipBatch([`link add ${p.veth}${mtu} type veth peer name ${peer}${mtu} netns ${p.netns}`, `link set ${p.veth} master ${p.bridge} up`],
    `cannot connect ${p.netns} to ${p.bridge}`);
  try {
    const inside = [`link set ${peer} name ${p.ifname} address ${p.mac} up`, `addr add ${p.ip}/${p.prefix} dev ${p.ifname}`];
    if (p.gateway) inside.push(`route replace default via ${p.gateway} dev ${p.ifname}`);
    ipBatch(inside, `cannot configure ${p.ifname} in ${p.netns}`, p.netns);
  } catch (err) {
    deleteLink(p.veth);
    throw err;
  }
}

/**
 * A new namespace file and its first endpoint in one child process, since
 * each child Node spawns costs several ms (tens on a loaded host): `unshare
 * --net=<file>` makes the namespace and runs `ip -batch` inside it, which
 * brings lo up, makes the pair from there with the host end sent to
 * berthd's namespace (`netns <berthd's pid>`), addresses eth0 and sets the
 * route; then nsenter back to plug the host end into the bridge. The file
 * must exist (an empty file to bind the namespace on).
 */
export function addNetnsWithVeth(p: VethPlan): void {
  const mtu = p.mtu ? ` mtu ${p.mtu}` : '';
  deleteLink(p.veth); // a pair left by a crash
  const inside = ['link set lo up', `link add ${p.ifname}${mtu} address ${p.mac} type veth peer name ${p.veth}${mtu} netns ${process.pid}`,
    `addr add ${p.ip}/${p.prefix} dev ${p.ifname}`, `link set ${p.ifname} up`];
  if (p.gateway) inside.push(`route replace default via ${p.gateway} dev ${p.ifname}`);
  try {
    run('unshare', [`--net=${p.netns}`, 'sh', '-c', 'ip -batch - && exec nsenter --net="$0" ip link set "$1" master "$2" up', `/proc/${process.pid}/ns/net`, p.veth, p.bridge],
      `cannot make network namespace ${p.netns} on ${p.bridge}`, inside.join('\n') + '\n');
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
