/**
 * The VM's network: the engine gives the container a network namespace with
 * an interface (a veth end, eth0) already addressed. berth-vm creates a tap
 * device in that namespace and joins the two with tc mirred redirects in
 * both directions (frames entering eth0 leave through the tap to the guest
 * and back), the way Kata's "tcfilter" model does; the guest's virtio-net
 * gets eth0's MAC, address and default route, so the engine's bridge, port
 * publishing and DNS reach the guest unchanged. Chosen over a bridge in the
 * namespace because eth0 keeps its address untouched for the engine's view.
 */
import { execFileSync } from 'node:child_process';
import { wrap } from '../common/errors.js';
import { FIELD_SEP, type Pairs } from './protocol.js';

export interface Tap {
  netns: string;
  name: string;
  mac: string;
  /** net_if / net_gw pairs for the agent's Create message */
  guestPairs: Pairs;
}

function inNetns(netns: string, cmd: string, args: string[]): string {
  return execFileSync('nsenter', [`--net=${netns}`, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface IpAddr { ifname: string; address?: string; link_type?: string; addr_info?: { family: string; local: string; prefixlen: number }[] }

/** The namespace's addressed interface; undefined when it has only loopback (network "none"). */
function uplink(netns: string): { ifname: string; mac: string; cidr: string } | undefined {
  const links = JSON.parse(inNetns(netns, 'ip', ['-j', 'addr', 'show'])) as IpAddr[];
  for (const l of links) {
    if (l.link_type === 'loopback' || l.ifname.startsWith('tap')) continue;
    const v4 = l.addr_info?.find((a) => a.family === 'inet');
    if (v4 && l.address) return { ifname: l.ifname, mac: l.address, cidr: `${v4.local}/${v4.prefixlen}` };
  }
  return undefined;
}

export function tapName(id: string): string {
  return `tap${id.replace(/[^A-Za-z0-9]/g, '').slice(0, 8)}`;
}

export function prepareTap(netns: string, id: string): Tap | undefined {
  let up: ReturnType<typeof uplink>;
  try { up = uplink(netns); } catch (err) { throw wrap(`cannot read network namespace ${netns}`, err); }
  if (!up) return undefined;
  const name = tapName(id);
  try {
    inNetns(netns, 'ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
    inNetns(netns, 'ip', ['link', 'set', name, 'up']);
    for (const [from, to] of [[up.ifname, name], [name, up.ifname]] as const) {
      inNetns(netns, 'tc', ['qdisc', 'add', 'dev', from, 'ingress']);
      inNetns(netns, 'tc', ['filter', 'add', 'dev', from, 'parent', 'ffff:', 'protocol', 'all', 'u32', 'match', 'u32', '0', '0',
        'action', 'mirred', 'egress', 'redirect', 'dev', to]);
    }
  } catch (err) {
    removeTap(netns, name, up.ifname);
    throw wrap(`cannot connect the vm to network namespace ${netns}`, err);
  }
  const routes = JSON.parse(inNetns(netns, 'ip', ['-j', 'route', 'show', 'default'])) as { gateway?: string }[];
  const guestPairs: Pairs = [['net_if', [up.mac, up.cidr].join(FIELD_SEP)]];
  const gw = routes.find((r) => r.gateway)?.gateway;
  if (gw) guestPairs.push(['net_gw', gw]);
  return { netns, name, mac: up.mac, guestPairs };
}

/** Removes the tap and the redirects; missing pieces are fine (the namespace may be gone). */
export function removeTap(netns: string, name: string, uplinkName?: string): void {
  const quiet = (args: string[], cmd = 'ip'): void => { try { inNetns(netns, cmd, args); } catch { /* already gone */ } };
  quiet(['link', 'del', name]);
  let up = uplinkName;
  if (!up) { try { up = uplink(netns)?.ifname; } catch { up = undefined; } }
  if (up) quiet(['qdisc', 'del', 'dev', up, 'ingress'], 'tc');
}
