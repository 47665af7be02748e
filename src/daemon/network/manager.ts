/**
 * berthd's networks: the predefined `bridge`, `host` and `none`, user-defined
 * bridge networks (IPAM, internal, options, labels), and the rules and
 * bridges that make them real. Containers' endpoints are in endpoints.ts;
 * both share this object's store and rule writer.
 */
import { randomBytes } from 'node:crypto';
import { BerthError, failedPrecondition, invalidArgument, notFound } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { EventBus } from '../events.js';
import type { StateDb } from '../state/db.js';
import { completeConfig, pickSubnet, poolOf, type AddressPool, type IpamConfig } from './ipam.js';
import { formatCidr, overlaps, parseCidr, type Cidr } from './ipv4.js';
import { warnForwardDrops } from './forward.js';
import { deleteLink, ensureBridge } from './links.js';
import { applyNft, flushText, rulesetText, type BridgeRules, type PortRule } from './nft.js';
import { NetworkStore, type NetworkRecord } from './store.js';
import { ipJson, sysctl } from './sys.js';

export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_MTU = 'com.docker.network.driver.mtu';
export const PREDEFINED = ['bridge', 'host', 'none'] as const;

export interface NetworkCreate {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  IPAM?: { Driver?: string; Config?: Partial<IpamConfig>[] | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  CheckDuplicate?: boolean;
  EnableIPv6?: boolean;
}

export interface ManagerOptions {
  db: StateDb;
  log: Logger;
  events: EventBus;
  pools: readonly AddressPool[];
  /** names this berthd's kernel objects: the default bridge and the nft tables */
  instance: { bridge: string; table: string };
}

const newId = (): string => randomBytes(32).toString('hex');
const truthy = (v: string | undefined, dflt: boolean): boolean => (v === undefined ? dflt : v === 'true' || v === '1');

export class NetworkManager {
  readonly store: NetworkStore;
  /** the published ports to write with the next rules, per container */
  private readonly portRules = new Map<string, PortRule[]>();
  /** the veths of each network (for icc: false) */
  private readonly veths = new Map<string, Set<string>>();

  constructor(readonly o: ManagerOptions) {
    this.store = new NetworkStore(o.db);
  }

  // ---- lookups ----

  /** Docker's lookup: full ID, exact name, then a unique ID prefix. */
  find(ref: string): NetworkRecord {
    const all = this.store.networks();
    const hit = all.find((n) => n.Id === ref) ?? all.find((n) => n.Name === ref);
    if (hit) return hit;
    const byPrefix = all.filter((n) => n.Id.startsWith(ref));
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw invalidArgument(`network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    throw notFound(`network ${ref} not found`);
  }

  tryFind(ref: string): NetworkRecord | undefined {
    try { return this.find(ref); } catch (err) { if (err instanceof BerthError && err.kind === 'not-found') return undefined; throw err; }
  }

  list(): NetworkRecord[] { return this.store.networks(); }

  // ---- start: predefined networks, forwarding, bridges ----

  /** Makes the predefined networks (the default bridge on a free subnet the first time) and every bridge. */
  init(): void {
    const have = new Set(this.store.networks().map((n) => n.Name));
    const now = new Date().toISOString();
    const base = { Created: now, Internal: false, Attachable: false, Labels: {}, Options: {}, IpamConfig: [], bridge: '' };
    if (!have.has('none')) this.store.saveNetwork({ ...base, Id: newId(), Name: 'none', Driver: 'null' }, true);
    if (!have.has('host')) this.store.saveNetwork({ ...base, Id: newId(), Name: 'host', Driver: 'host' }, true);
    if (!have.has('bridge')) {
      const subnet = pickSubnet(this.o.pools, this.takenSubnets());
      const cfg = completeConfig({ Subnet: formatCidr(subnet) }, () => subnet);
      const b = this.o.instance.bridge;
      this.store.saveNetwork({
        ...base, Id: newId(), Name: 'bridge', Driver: 'bridge', IpamConfig: [cfg], bridge: b,
        Options: {
          'com.docker.network.bridge.default_bridge': 'true', [OPT_ICC]: 'true', [OPT_MASQUERADE]: 'true',
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0', [OPT_BRIDGE_NAME]: b, [OPT_MTU]: '1500',
        },
      }, true);
    }
    sysctl('net.ipv4.ip_forward', '1');
    for (const n of this.store.networks()) if (n.Driver === 'bridge') this.upBridge(n);
    const t = this.o.instance.table;
    warnForwardDrops(this.o.log, [t, `${t}-nat`], this.store.networks().map((n) => n.bridge).filter((b) => b !== ''));
  }

  private upBridge(n: NetworkRecord): void {
    const cfg = n.IpamConfig[0]!;
    const mtu = n.Options[OPT_MTU] ? Number(n.Options[OPT_MTU]) : undefined;
    ensureBridge(n.bridge, `${cfg.Gateway}/${parseCidr(cfg.Subnet).prefix}`, mtu && mtu !== 1500 ? mtu : undefined);
  }

  /** Subnets in use: the host's routes (but our own bridges') and every network's. */
  private takenSubnets(): Cidr[] {
    const ours = new Set(this.store.networks().map((n) => n.bridge).filter((b) => b !== ''));
    const routes = ipJson<{ dst: string; dev?: string }[]>(['-4', 'route', 'show', 'table', 'all'], 'cannot read the host routes');
    const taken: Cidr[] = [];
    for (const r of routes) {
      if (r.dst === 'default' || (r.dev && ours.has(r.dev))) continue;
      try { taken.push(parseCidr(r.dst, true)); } catch { /* broadcast, multicast … */ }
    }
    for (const n of this.store.networks()) for (const c of n.IpamConfig) taken.push(parseCidr(c.Subnet));
    return taken.filter((c) => c.prefix > 0 && !(c.base >>> 24 === 127) && c.base >>> 28 !== 14); // loopback and multicast say nothing
  }

  // ---- create, remove, prune ----

  create(req: NetworkCreate): { Id: string; Warning: string } {
    const name = req.Name;
    if (!name) throw invalidArgument('network name is required: name the network to create');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalidArgument(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const driver = req.Driver || 'bridge';
    if (driver !== 'bridge') {
      if (driver === 'host' || driver === 'null') throw failedPrecondition(`only one instance of "${driver}" network is allowed`);
      throw invalidArgument(`plugin "${driver}" not found: berthd has only the bridge network driver`);
    }
    if (PREDEFINED.includes(name as typeof PREDEFINED[number])) throw failedPrecondition(`${name} is a pre-defined network and cannot be created`);
    if (req.EnableIPv6) throw invalidArgument(`cannot create network ${name}: IPv6 networks are not supported by berthd`);
    if (this.store.networks().some((n) => n.Name === name)) throw new BerthError('already-exists', `network with name ${name} already exists`);
    const asked = req.IPAM?.Config ?? [];
    if (asked.length > 1) throw invalidArgument(`cannot create network ${name}: berthd supports one IPv4 IPAM config per network`);
    const wanted = asked[0];
    if (wanted?.Subnet) {
      const sub = parseCidr(wanted.Subnet);
      const clash = this.store.networks().find((n) => n.IpamConfig.some((c) => overlaps(parseCidr(c.Subnet), sub)));
      if (clash) throw failedPrecondition(`invalid pool request: Pool overlaps with other one on this address space (network ${clash.Name} has ${clash.IpamConfig[0]!.Subnet})`);
    } else if (wanted?.Gateway || wanted?.IPRange) {
      throw invalidArgument(`cannot create network ${name}: a gateway or an IP range needs a subnet`);
    }
    const cfg = completeConfig(wanted, () => pickSubnet(this.o.pools, this.takenSubnets()));
    poolOf(cfg);
    const id = newId();
    const opts = { ...(req.Options ?? {}) };
    const bridge = opts[OPT_BRIDGE_NAME] || `br-${id.slice(0, 12)}`;
    if (bridge.length > 15 || !/^[a-zA-Z0-9_.-]+$/.test(bridge)) throw invalidArgument(`invalid bridge name ${bridge}: at most 15 characters of [a-zA-Z0-9_.-]`);
    if (this.store.networks().some((n) => n.bridge === bridge)) throw new BerthError('already-exists', `bridge ${bridge} is already used by another network`);
    if (opts[OPT_MTU] !== undefined && !/^\d+$/.test(opts[OPT_MTU]!)) throw invalidArgument(`invalid ${OPT_MTU}: ${opts[OPT_MTU]}`);
    const rec: NetworkRecord = {
      Id: id, Name: name, Created: new Date().toISOString(), Driver: 'bridge', Internal: req.Internal === true, Attachable: req.Attachable === true,
      IpamConfig: [cfg], Options: opts, Labels: { ...(req.Labels ?? {}) }, bridge,
    };
    this.store.saveNetwork(rec, true);
    try {
      this.upBridge(rec);
      this.syncRules();
    } catch (err) {
      this.store.deleteNetwork(id);
      deleteLink(bridge);
      throw err;
    }
    this.o.events.publish('network', 'create', { ID: id, Attributes: { name, type: 'bridge' } });
    return { Id: id, Warning: '' };
  }

  /**
   * Removes a user network; 409 while a running container is on it. Stopped
   * containers keep their endpoint rows, as dockerd keeps them in their
   * NetworkSettings: their next start fails naming the network, and `network
   * disconnect` takes the row away (endpoints.ts).
   */
  remove(ref: string): void {
    const n = this.find(ref);
    if (PREDEFINED.includes(n.Name as typeof PREDEFINED[number])) throw new BerthError('permission-denied', `${n.Name} is a pre-defined network and cannot be removed`);
    const active = this.store.endpoints({ network: n.Id }).filter((e) => e.ip !== '');
    if (active.length > 0) throw failedPrecondition(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
    this.store.deleteNetwork(n.Id);
    deleteLink(n.bridge);
    this.syncRules();
    this.o.events.publish('network', 'destroy', { ID: n.Id, Attributes: { name: n.Name, type: n.Driver } });
  }

  /** User networks no container refers to (accept: the prune filters). */
  prune(accept: (n: NetworkRecord) => boolean): { NetworksDeleted: string[] | null } {
    const deleted: string[] = [];
    for (const n of this.store.networks()) {
      if (PREDEFINED.includes(n.Name as typeof PREDEFINED[number]) || !accept(n)) continue;
      if (this.store.endpoints({ network: n.Id }).length > 0) continue;
      this.remove(n.Id);
      deleted.push(n.Name);
    }
    this.o.events.publish('network', 'prune', { ID: '', Attributes: {} });
    return { NetworksDeleted: deleted.length > 0 ? deleted : null };
  }

  // ---- rules ----

  setPortRules(container: string, rules: PortRule[] | undefined): void {
    if (rules && rules.length > 0) this.portRules.set(container, rules);
    else this.portRules.delete(container);
  }

  setVeth(network: string, veth: string, present: boolean): void {
    let s = this.veths.get(network);
    if (!s) this.veths.set(network, s = new Set());
    if (present) s.add(veth); else s.delete(veth);
  }

  /**
   * Writes every rule again from the state, in one transaction. A ruleset
   * equal to the last one written is not written again: each nft run is a
   * blocking spawn (about 100 ms on a loaded host, the largest item of a
   * container's start in berthd's profile), and the ruleset names veths only
   * on icc=false networks and ports only when published: a plain container's
   * start, exit and removal (four syncs) change nothing in it.
   */
  syncRules(): void {
    const networks: BridgeRules[] = this.store.networks().filter((n) => n.Driver === 'bridge').map((n) => ({
      bridge: n.bridge, subnet: n.IpamConfig[0]!.Subnet, internal: n.Internal, masquerade: truthy(n.Options[OPT_MASQUERADE], true),
      icc: truthy(n.Options[OPT_ICC], true), veths: [...(this.veths.get(n.Id) ?? [])],
    }));
    const text = rulesetText(this.o.instance.table, { networks, ports: [...this.portRules.values()].flat() });
    if (text === this.appliedRules) return;
    this.appliedRules = '';
    applyNft(text);
    this.appliedRules = text;
  }

  /** The ruleset syncRules wrote last ('' when unknown: the next sync writes). */
  private appliedRules = '';

  /** Takes the bridges and the rules away (berthd stops with nothing running). */
  teardown(): void {
    this.appliedRules = '';
    try { applyNft(flushText(this.o.instance.table)); } catch (err) { this.o.log.warn('cannot remove the network rules', { error: (err as Error).message }); }
    for (const n of this.store.networks()) if (n.Driver === 'bridge') deleteLink(n.bridge);
  }
}
