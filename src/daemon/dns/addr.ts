/** Address text the DNS side compares and turns into reverse names (in-addr.arpa, ip6.arpa). */
import { isIPv4, isIPv6 } from 'node:net';

/** Eight 4-digit groups, so two spellings of one IPv6 address compare equal. */
export function expandIpv6(ip: string): string | undefined {
  if (!isIPv6(ip)) return undefined;
  let text = ip.toLowerCase();
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1].split('.').map(Number);
    text = text.slice(0, v4.index) + `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => g.padStart(4, '0')).join(':');
}

export function sameIp(a: string, b: string): boolean {
  if (a === b) return true;
  const x = expandIpv6(a);
  return x !== undefined && x === expandIpv6(b);
}

/** `4.3.2.1.in-addr.arpa` → `1.2.3.4`; the 32 nibbles of ip6.arpa → an IPv6 address; else undefined. */
export function fromReverseName(name: string): string | undefined {
  const n = name.replace(/\.+$/, '').toLowerCase();
  if (n.endsWith('.in-addr.arpa')) {
    const ip = n.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
    return isIPv4(ip) ? ip : undefined;
  }
  if (n.endsWith('.ip6.arpa')) {
    const nibbles = n.slice(0, -'.ip6.arpa'.length).split('.').reverse();
    if (nibbles.length !== 32 || nibbles.some((x) => !/^[0-9a-f]$/.test(x))) return undefined;
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(nibbles.slice(i, i + 4).join(''));
    return groups.join(':');
  }
  return undefined;
}
