/**
 * Which registries may be spoken to over plain http (or https without a
 * certificate check), as dockerd decides: the configured insecure registries
 * (a `host[:port]` or a CIDR), and always the loopback addresses
 * (127.0.0.0/8, ::1, localhost).
 */
import { isIP } from 'node:net';

/** "127.0.0.1:5000" → "127.0.0.1", "[::1]:5000" → "::1", "localhost" → "localhost" */
export function hostnameOf(host: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(host);
  if (v6) return v6[1]!;
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/') as [string, string];
  const bits = Number(bitsText);
  if (isIP(ip) !== 4 || isIP(base) !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((ipv4ToInt(ip) & mask) >>> 0) === ((ipv4ToInt(base) & mask) >>> 0);
}

export const DEFAULT_INSECURE = ['127.0.0.0/8', '::1', 'localhost'];

/** True when `host` (host[:port] as in a reference) is insecure by `configured` or by default. */
export function isInsecureRegistry(host: string, configured: readonly string[] = []): boolean {
  const name = hostnameOf(host);
  for (const entry of [...DEFAULT_INSECURE, ...configured]) {
    if (entry === host || entry === name) return true;
    if (entry.includes('/') && inCidr(name, entry)) return true;
  }
  return false;
}
