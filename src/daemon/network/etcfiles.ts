/**
 * /etc/hosts and /etc/resolv.conf as dockerd writes them for a container on
 * a network: the localhost and IPv6 lines, --add-host entries (host-gateway
 * is the default bridge's gateway), then the container's own address and
 * name; the host's resolvers without the loopback ones a private namespace
 * cannot reach (Google's when none are left), or the embedded DNS server
 * 127.0.0.11 on user-defined networks.
 */
import { invalidArgument } from '../../common/errors.js';

export const HOSTS_BASE = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

export const DEFAULT_DNS = ['8.8.8.8', '8.8.4.4'];
export const EMBEDDED_DNS = '127.0.0.11';

/** "name:ip" or "name=ip" (ip may be [v6] or host-gateway) as a hosts line. */
export function extraHostLine(entry: string, hostGateway: string | undefined): string {
  const sep = entry.includes('=') ? entry.indexOf('=') : entry.indexOf(':');
  if (sep <= 0) throw invalidArgument(`invalid IP address in add-host: "${entry}"`);
  const name = entry.slice(0, sep);
  let ip = entry.slice(sep + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip === 'host-gateway') {
    if (!hostGateway) throw invalidArgument('unable to derive the IP value for host-gateway');
    ip = hostGateway;
  }
  if (!/^[0-9a-fA-F.:]+$/.test(ip)) throw invalidArgument(`invalid IP address in add-host: "${ip}"`);
  return `${ip}\t${name}`;
}

export interface HostsInput {
  hostname: string;
  domainname?: string;
  /** the container's addresses, one line each */
  ips: readonly string[];
  extraHosts: readonly string[];
  hostGateway?: string;
}

export function hostsText(h: HostsInput): string {
  const lines = [...HOSTS_BASE, ...h.extraHosts.map((e) => extraHostLine(e, h.hostGateway))];
  const names = h.domainname ? `${h.hostname}.${h.domainname} ${h.hostname}` : h.hostname;
  for (const ip of h.ips) lines.push(`${ip}\t${names}`);
  return lines.join('\n') + '\n';
}

export interface ResolvInput {
  /** the host's /etc/resolv.conf */
  host: string;
  dns: readonly string[];
  search: readonly string[];
  options: readonly string[];
  /** the embedded DNS server answers in the container (user-defined networks) */
  embedded: boolean;
}

function field(lines: readonly string[], key: string): string[] {
  return lines.filter((l) => new RegExp(`^\\s*${key}\\s`).test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
}

export function resolvText(r: ResolvInput): string {
  const lines = r.host.split('\n');
  let servers = field(lines, 'nameserver').filter((s) => !/^127\./.test(s) && s !== '::1');
  if (r.dns.length > 0) servers = [...r.dns];
  if (servers.length === 0) servers = [...DEFAULT_DNS];
  let search = field(lines, 'search');
  if (r.search.length > 0) search = r.search.filter((s) => s !== '.');
  let options = field(lines, 'options');
  if (r.options.length > 0) options = [...r.options];
  if (r.embedded) {
    // the embedded server forwards to `servers`; the container asks it only
    servers = [EMBEDDED_DNS];
    if (!options.some((o) => o.startsWith('ndots:'))) options = ['ndots:0', ...options];
  }
  const out = [...(search.length > 0 ? [`search ${search.join(' ')}`] : []), ...servers.map((s) => `nameserver ${s}`),
    ...(options.length > 0 ? [`options ${options.join(' ')}`] : [])];
  return out.join('\n') + '\n';
}

/** The servers the embedded DNS forwards to: the container's resolvers as they would be without it. */
export function upstreamServers(r: Omit<ResolvInput, 'embedded'>): string[] {
  return field(resolvText({ ...r, embedded: false }).split('\n'), 'nameserver');
}
