/**
 * The files berthd writes per container under <data-root>/containers/<id>/
 * and bind-mounts: /etc/hosts (localhost, the container's own name, then
 * ExtraHosts), /etc/resolv.conf (the host's, without loopback servers a
 * private network namespace cannot reach, with Dns/DnsSearch/DnsOptions
 * applied) and /etc/hostname. The networking issue adds the container's
 * addresses and the embedded DNS.
 */
import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../common/errors.js';

const BASE_HOSTS = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** "name:ip" (or Docker 25's "name=ip") as a hosts line; `host-gateway` needs the bridge: refused until it exists. */
function extraHost(entry: string): string {
  const sep = entry.includes('=') ? entry.indexOf('=') : entry.indexOf(':');
  if (sep <= 0) throw invalidArgument(`invalid IP address in add-host: "${entry}"`);
  const name = entry.slice(0, sep);
  let ip = entry.slice(sep + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip === 'host-gateway') throw invalidArgument('unable to derive the IP value for host-gateway: no default bridge network yet');
  if (!/^[0-9a-fA-F.:]+$/.test(ip)) throw invalidArgument(`invalid IP address in add-host: "${ip}"`);
  return `${ip}\t${name}`;
}

export function hostsFile(opts: { hostname: string; domainname?: string; ip?: string; extraHosts: readonly string[]; hostNetwork: boolean }): string {
  if (opts.hostNetwork) {
    let host = '';
    try { host = readFileSync('/etc/hosts', 'utf8'); } catch { host = BASE_HOSTS.join('\n') + '\n'; }
    return host + opts.extraHosts.map(extraHost).map((l) => l + '\n').join('');
  }
  const lines = [...BASE_HOSTS];
  if (opts.ip) lines.push(`${opts.ip}\t${opts.domainname ? `${opts.hostname}.${opts.domainname} ` : ''}${opts.hostname}`);
  lines.push(...opts.extraHosts.map(extraHost));
  return lines.join('\n') + '\n';
}

export function resolvConf(opts: { host: string; dns: readonly string[]; search: readonly string[]; options: readonly string[]; hostNetwork: boolean }): string {
  const lines = opts.host.split('\n');
  let servers = lines.filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]!);
  let search = lines.filter((l) => /^\s*search\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  let options = lines.filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  if (!opts.hostNetwork) {
    // a private network namespace cannot reach the host's loopback resolver
    servers = servers.filter((s) => !/^127\./.test(s) && s !== '::1');
    if (servers.length === 0 && opts.dns.length === 0) servers = ['8.8.8.8', '8.8.4.4'];
  }
  if (opts.dns.length > 0) servers = [...opts.dns];
  if (opts.search.length > 0) search = opts.search.filter((s) => s !== '.');
  if (opts.options.length > 0) options = [...opts.options];
  const out = [...(search.length > 0 ? [`search ${search.join(' ')}`] : []), ...servers.map((s) => `nameserver ${s}`),
    ...(options.length > 0 ? [`options ${options.join(' ')}`] : [])];
  return out.join('\n') + '\n';
}

export function hostResolvConf(): string {
  try { return readFileSync('/etc/resolv.conf', 'utf8'); } catch { return ''; }
}
