/**
 * How a container gets its network: the NetworkAttacher answers, at start,
 * which network namespace the spec joins (none: the host's, or a new one
 * the runtime makes) and the NetworkSettings inspect shows; at stop it
 * releases what it set up. Here: `host` and `none`, and `bridge` (and user
 * networks) as a private namespace with loopback only, until the networking
 * issue replaces this attacher with one that plugs a veth into a bridge.
 */
import { invalidArgument } from '../../common/errors.js';
import type { ContainerRecord } from './types.js';

export interface NetworkAttachment {
  /** share the host's network namespace */
  host: boolean;
  /** a namespace to join (/var/run/netns/…); undefined: a new one */
  netnsPath?: string;
  /** the container's IP address, for /etc/hosts ("" when none) */
  ip: string;
  /** Docker's NetworkSettings, as inspect shows it */
  settings: Record<string, unknown>;
}

export interface NetworkAttacher {
  /** checks a create body's NetworkMode before anything is made */
  validate(mode: string): void;
  attach(c: ContainerRecord): Promise<NetworkAttachment>;
  detach(c: ContainerRecord): Promise<void>;
}

function endpoint(): Record<string, unknown> {
  return {
    IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '',
    IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
  };
}

/** Docker's NetworkSettings with one network named `name` and no addresses. */
export function emptySettings(networks: string[]): Record<string, unknown> {
  return {
    Bridge: '', SandboxID: '', SandboxKey: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    Ports: {}, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '', Gateway: '', GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '',
    Networks: Object.fromEntries(networks.map((n) => [n, endpoint()])),
  };
}

export function networkMode(c: { HostConfig: { NetworkMode?: string } }): string {
  const m = c.HostConfig.NetworkMode ?? '';
  return m === '' || m === 'default' ? 'bridge' : m;
}

/**
 * host, none, and bridge/user networks as loopback-only namespaces. The
 * bridge placeholder is marked in inspect: NetworkSettings has the network
 * with an empty IPAddress, and the daemon logs that it is not connected.
 */
export class LoopbackAttacher implements NetworkAttacher {
  validate(mode: string): void {
    if (mode.startsWith('container:')) throw invalidArgument(`network mode ${mode} is not supported yet`);
  }

  async attach(c: ContainerRecord): Promise<NetworkAttachment> {
    const mode = networkMode(c);
    if (mode === 'host') return { host: true, ip: '', settings: emptySettings(['host']) };
    return { host: false, ip: '', settings: emptySettings([mode]) };
  }

  async detach(): Promise<void> { /* nothing was set up */ }
}
