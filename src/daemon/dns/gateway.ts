/**
 * The gateway a container's address hangs off: the host address whose
 * subnet holds it (the user bridge's). The network side need not pass it:
 * the server listens where the container's packets arrive anyway.
 */
import { networkInterfaces } from 'node:os';
import { isIPv4 } from 'node:net';

export function gatewayFor(ip: string, interfaces = networkInterfaces()): string | undefined {
  if (!isIPv4(ip)) return undefined;
  const target = toInt(ip);
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4' || a.internal || a.address === ip || a.cidr === null) continue;
      const prefix = Number(a.cidr.split('/')[1]);
      if (prefix === 0 || prefix >= 32) continue;
      const mask = (0xffffffff << (32 - prefix)) >>> 0;
      if (((toInt(a.address) & mask) >>> 0) === ((target & mask) >>> 0)) return a.address;
    }
  }
  return undefined;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, o) => ((n << 8) >>> 0) + Number(o), 0) >>> 0;
}
