/**
 * Another tool's FORWARD drop. Debian's dockerd (and firewalls such as ufw)
 * set the forward policy of `ip filter FORWARD` to drop. A packet crosses
 * every base chain on the forward hook, so berthd's accept in its own table
 * cannot override a drop in someone else's: published ports stop answering
 * other hosts and containers lose their way out. berthd never edits other
 * tools' tables; it finds such chains at start and says how to let its
 * bridges through.
 */
import { spawnSync } from 'node:child_process';
import type { Logger } from '../../common/log.js';

/** A base chain on the forward hook whose policy is drop. */
export interface ForwardDrop { family: string; table: string; chain: string; backend: 'nftables' | 'iptables-legacy' }

interface NftChain { family?: string; table?: string; name?: string; hook?: string; policy?: string }

/** Forward-hook chains with policy drop in `nft -j list chains` output, except the tables named in `ours`. */
export function nftForwardDrops(json: string, ours: readonly string[]): ForwardDrop[] {
  let doc: { nftables?: { chain?: NftChain }[] };
  try { doc = JSON.parse(json) as typeof doc; } catch { return []; }
  return (doc.nftables ?? []).flatMap((x) => {
    const c = x.chain;
    if (!c || c.hook !== 'forward' || c.policy !== 'drop' || ours.includes(c.table ?? '')) return [];
    if (c.family !== 'ip' && c.family !== 'inet' && c.family !== 'bridge') return [];
    return [{ family: c.family, table: c.table ?? '', chain: c.name ?? '', backend: 'nftables' as const }];
  });
}

/** `iptables-legacy -S FORWARD`: its policy line says drop. */
export function legacyForwardDrops(rules: string): ForwardDrop[] {
  return /^-P FORWARD DROP$/m.test(rules) ? [{ family: 'ip', table: 'filter', chain: 'FORWARD', backend: 'iptables-legacy' }] : [];
}

/** The host's forward drops, read only (nft, and the legacy back end when installed). */
export function forwardDrops(ours: readonly string[]): ForwardDrop[] {
  const nft = spawnSync('nft', ['-j', 'list', 'chains'], { encoding: 'utf8' });
  const out = nft.status === 0 ? nftForwardDrops(nft.stdout, ours) : [];
  const legacy = spawnSync('iptables-legacy', ['-S', 'FORWARD'], { encoding: 'utf8' });
  if (legacy.status === 0) out.push(...legacyForwardDrops(legacy.stdout));
  return out;
}

/** The warning for the log: which chain drops, and the commands that let the bridges through. */
export function forwardDropWarning(drops: readonly ForwardDrop[], bridges: readonly string[]): string {
  const where = drops.map((d) => `${d.backend === 'iptables-legacy' ? 'iptables-legacy ' : ''}${d.family} ${d.table} ${d.chain}`).join(', ');
  const fix = bridges.flatMap((b) => [`iptables -I DOCKER-USER -i ${b} -j ACCEPT`, `iptables -I DOCKER-USER -o ${b} -j ACCEPT`]).join('; ');
  return `the host drops forwarded traffic (policy drop in ${where}; Debian's dockerd sets it): containers on berthd's bridges lose their way out `
    + `and published ports do not answer other hosts. berthd does not edit other tools' tables; let its bridges through with: ${fix} `
    + '(without a DOCKER-USER chain: iptables -I FORWARD …, or an nft rule in that chain)';
}

/** Logs the warning once at start when some chain drops forwarded packets. */
export function warnForwardDrops(log: Logger, ours: readonly string[], bridges: readonly string[]): ForwardDrop[] {
  const drops = forwardDrops(ours);
  if (drops.length > 0) log.warn(forwardDropWarning(drops, bridges), { chains: drops.map((d) => `${d.family} ${d.table} ${d.chain}`) });
  return drops;
}
