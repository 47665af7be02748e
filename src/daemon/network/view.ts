/**
 * Docker's shapes for networks (GET /networks, /networks/{id}) and for a
 * container's NetworkSettings, from the store's records.
 */
import { parseCidr } from './ipv4.js';
import { portsMap, type Published } from './ports.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from './store.js';

export interface NetworkContainer { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }

export function networkDocument(n: NetworkRecord, containers: Record<string, NetworkContainer> = {}): Record<string, unknown> {
  return {
    Name: n.Name, Id: n.Id, Created: n.Created, Scope: 'local', Driver: n.Driver, EnableIPv6: false,
    IPAM: { Driver: 'default', Options: n.Driver === 'bridge' && n.Name !== 'bridge' ? {} : null, Config: n.IpamConfig.map((c) => ({ ...c })) },
    Internal: n.Internal, Attachable: n.Attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: containers, Options: n.Options, Labels: n.Labels,
  };
}

export function prefixOf(n: NetworkRecord): number {
  const c = n.IpamConfig[0];
  return c ? parseCidr(c.Subnet).prefix : 0;
}

export function gatewayOf(n: NetworkRecord): string {
  return n.IpamConfig[0]?.Gateway ?? '';
}

/** One entry of NetworkSettings.Networks. */
export function endpointSettings(n: NetworkRecord, e: EndpointRecord | undefined, dnsNames: string[] | null): Record<string, unknown> {
  const up = e !== undefined && e.ip !== '';
  return {
    IPAMConfig: e?.ipv4Address ? { IPv4Address: e.ipv4Address } : null, Links: e && e.links.length > 0 ? e.links : null,
    Aliases: e && e.aliases.length > 0 ? e.aliases : null, MacAddress: up ? e.mac : '', DriverOpts: null, NetworkID: n.Id,
    EndpointID: up ? e.endpointId : '', Gateway: up && n.Driver === 'bridge' ? gatewayOf(n) : '', IPAddress: up ? e.ip : '',
    IPPrefixLen: up ? prefixOf(n) : 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: up ? dnsNames : null,
  };
}

export interface SettingsInput {
  /** the networks the container is on, with its endpoint in each */
  on: { network: NetworkRecord; endpoint?: EndpointRecord; dnsNames: string[] | null }[];
  sandbox?: SandboxRecord;
  exposed: Record<string, unknown> | null | undefined;
  published: readonly Published[];
}

/** NetworkSettings: the default bridge's endpoint also fills the top-level fields, as in Docker. */
export function networkSettings(s: SettingsInput): Record<string, unknown> {
  const running = s.sandbox !== undefined;
  const main = s.on.find((o) => o.network.Name === 'bridge' && o.endpoint?.ip);
  const ep = main?.endpoint;
  return {
    Bridge: '', SandboxID: running ? s.sandbox!.container : '', SandboxKey: running ? s.sandbox!.netns : '', HairpinMode: false,
    LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    Ports: running ? portsMap(s.exposed, s.published) : {},
    SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: ep?.endpointId ?? '', Gateway: main ? gatewayOf(main.network) : '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    IPAddress: ep?.ip ?? '', IPPrefixLen: main ? prefixOf(main.network) : 0, IPv6Gateway: '', MacAddress: ep?.mac ?? '',
    Networks: Object.fromEntries(s.on.map((o) => [o.network.Name, endpointSettings(o.network, o.endpoint, o.dnsNames)])),
  };
}
