/**
 * berthd's netfilter rules as one nftables script: its own tables (filter
 * `inet <name>`, NAT `ip <name>-nat`, and `bridge <name>` for networks
 * without inter-container traffic), rewritten whole in one `nft -f`
 * transaction at every change, so the kernel never holds half a change and
 * nobody else's tables are touched. The text is built from the daemon's
 * state alone: the same state gives the same rules, which is what
 * reconciliation after a crash relies on.
 */
import { spawnSync } from 'node:child_process';
import { BerthError } from '../../common/errors.js';
import type { Proto } from './ports.js';

export interface BridgeRules {
  bridge: string;
  subnet: string;
  internal: boolean;
  masquerade: boolean;
  icc: boolean;
  /** the host ends of the network's veths (for icc: false) */
  veths: readonly string[];
}

export interface PortRule { proto: Proto; hostIp: string; hostPort: number; ip: string; port: number; bridge: string }

export interface RuleState { networks: readonly BridgeRules[]; ports: readonly PortRule[] }

const q = (s: string): string => `"${s}"`;
const set = (xs: readonly string[]): string => (xs.length === 1 ? q(xs[0]!) : `{ ${xs.map(q).join(', ')} }`);

function filterTable(name: string, s: RuleState): string[] {
  const l: string[] = [];
  const all = s.networks.map((n) => n.bridge);
  l.push(`table inet ${name} {`);
  // before the usual filter priority: our verdicts come first and our drops are not undone by a later accept
  l.push('  chain forward {', '    type filter hook forward priority filter - 10; policy accept;');
  for (const n of s.networks) {
    const others = all.filter((b) => b !== n.bridge);
    if (n.internal) {
      l.push(`    iifname ${q(n.bridge)} oifname != ${q(n.bridge)} drop`, `    oifname ${q(n.bridge)} iifname != ${q(n.bridge)} drop`);
      continue;
    }
    if (others.length > 0) l.push(`    iifname ${q(n.bridge)} oifname ${set(others)} drop`);
  }
  for (const n of s.networks) {
    if (n.internal) continue;
    l.push(`    iifname ${q(n.bridge)} accept`, `    oifname ${q(n.bridge)} ct state established,related accept`, `    oifname ${q(n.bridge)} ct status dnat accept`);
  }
  l.push('  }', '}');
  return l;
}

function natTable(name: string, s: RuleState): string[] {
  const l: string[] = [];
  l.push(`table ip ${name}-nat {`);
  l.push('  chain ports {');
  for (const p of s.ports) {
    const dst = p.hostIp ? `ip daddr ${p.hostIp} ` : '';
    l.push(`    ${dst}${p.proto} dport ${p.hostPort} dnat to ${p.ip}:${p.port}`);
  }
  l.push('  }');
  l.push('  chain prerouting {', '    type nat hook prerouting priority dstnat; policy accept;', '    fib daddr type local jump ports', '  }');
  // locally made connections, 127.0.0.1 too (the bridges have route_localnet=1)
  l.push('  chain output {', '    type nat hook output priority -100; policy accept;', '    fib daddr type local jump ports', '  }');
  l.push('  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;');
  for (const n of s.networks) {
    // a connection from the host's loopback DNATed into the bridge must not leave with a 127/8 source
    l.push(`    oifname ${q(n.bridge)} ip saddr 127.0.0.0/8 masquerade`);
    if (!n.internal) l.push(`    oifname ${q(n.bridge)} iifname ${q(n.bridge)} ct status dnat masquerade`);
    if (!n.internal && n.masquerade) l.push(`    ip saddr ${n.subnet} oifname != ${q(n.bridge)} masquerade`);
  }
  l.push('  }', '}');
  return l;
}

function bridgeTable(name: string, s: RuleState): string[] {
  const isolated = s.networks.filter((n) => !n.icc && n.veths.length > 1);
  if (isolated.length === 0) return [];
  const l = [`table bridge ${name} {`, '  chain forward {', '    type filter hook forward priority filter; policy accept;'];
  // the bridge family sees the ports: no frame from one container's port to another's
  for (const n of isolated) l.push(`    iifname ${set(n.veths)} oifname ${set(n.veths)} drop`);
  l.push('  }', '}');
  return l;
}

/** The whole script: each table made (so the delete cannot fail), deleted and written again, in one transaction. */
export function rulesetText(name: string, s: RuleState): string {
  const l: string[] = [];
  for (const t of [`inet ${name}`, `ip ${name}-nat`, `bridge ${name}`]) l.push(`table ${t}`, `delete table ${t}`);
  l.push(...filterTable(name, s), ...natTable(name, s), ...bridgeTable(name, s));
  return l.join('\n') + '\n';
}

/** The script removing berthd's tables (at a stop with nothing running). */
export function flushText(name: string): string {
  return [`inet ${name}`, `ip ${name}-nat`, `bridge ${name}`].flatMap((t) => [`table ${t}`, `delete table ${t}`]).join('\n') + '\n';
}

export function applyNft(script: string): void {
  const r = spawnSync('nft', ['-f', '-'], { input: script, encoding: 'utf8' });
  if (r.error) throw new BerthError('internal', `cannot run nft: ${r.error.message}`);
  if (r.status !== 0) throw new BerthError('internal', `cannot write the network rules: nft: ${r.stderr.trim()}`);
}
