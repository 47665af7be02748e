/**
 * How a container reaches the server at 127.0.0.11 (the address Docker
 * writes into resolv.conf): a table in the container's own netns rewrites
 * 127.0.0.11:53 to the network's listener on the gateway and masquerades
 * the loopback source, so the server sees the container's address (which
 * tells it who asks). route_localnet lets the rewritten packets and their
 * replies leave and enter through the container's interface; an input rule
 * keeps that from opening the container's loopback services to its
 * neighbours. Everything lives in the netns and goes away with it.
 *
 * nft runs in a child entered with nsenter: Node's main thread never
 * changes namespace.
 */
import { spawn } from 'node:child_process';
import { wrap, BerthError } from '../../common/errors.js';
import type { ListenerAddress } from './listener.js';

export const DNS_ADDRESS = '127.0.0.11';
export const NFT_TABLE = 'berth_dns';

/** The table for a netns whose resolver is `target`; replaces an older one in the same transaction. */
export function redirectRules(target: ListenerAddress): string {
  const gw = target.host;
  return [
    `table ip ${NFT_TABLE}`,
    `delete table ip ${NFT_TABLE}`,
    `table ip ${NFT_TABLE} {`,
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    `    ip daddr ${DNS_ADDRESS} udp dport 53 dnat to ${gw}:${target.udpPort}`,
    `    ip daddr ${DNS_ADDRESS} tcp dport 53 dnat to ${gw}:${target.tcpPort}`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority 100; policy accept;',
    `    ip saddr 127.0.0.0/8 ip daddr ${gw} ct status dnat masquerade`,
    '  }',
    '  chain input {',
    '    type filter hook input priority 0; policy accept;',
    '    iifname != "lo" ip daddr 127.0.0.0/8 ct state != { established, related } drop',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Points 127.0.0.11 inside the netns at `netnsPath` to `target`. */
export async function attachNetns(netnsPath: string, target: ListenerAddress): Promise<void> {
  await inNetns(netnsPath, 'echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && exec nft -f -', redirectRules(target))
    .catch((err: unknown) => { throw wrap(`cannot point ${DNS_ADDRESS} at ${target.host} in ${netnsPath}`, err); });
}

/** Removes the redirection (a container leaving the network that served it); a netns without it is fine. */
export async function detachNetns(netnsPath: string): Promise<void> {
  await inNetns(netnsPath, `nft list table ip ${NFT_TABLE} >/dev/null 2>&1 || exit 0; exec nft delete table ip ${NFT_TABLE}`, '')
    .catch((err: unknown) => { throw wrap(`cannot remove the dns redirection in ${netnsPath}`, err); });
}

function inNetns(netnsPath: string, script: string, stdin: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${netnsPath}`, 'sh', '-c', script], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new BerthError('internal', stderr.trim().split('\n')[0] || `exit status ${code}`));
    });
    child.stdin.end(stdin);
  });
}
