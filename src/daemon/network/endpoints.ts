/**
 * Containers on networks: the NetworkAttacher berthd's containers use. At a
 * start it holds the published host ports (a taken port fails here, before
 * anything is made), makes the namespace file, plugs a veth into each
 * network's bridge, writes the rules, the proxies' targets, /etc/hosts and
 * /etc/resolv.conf; at a stop it takes all of that away again. Connect and
 * disconnect do one endpoint of a running container the same way.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { BerthError, failedPrecondition, invalidArgument, notFound } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { emptySettings, networkMode, type NetworkAttacher, type NetworkAttachment } from '../containers/network.js';
import type { ContainerRecord } from '../containers/types.js';
import type { DnsRegistry } from './dns.js';
import { hostsText, resolvText, upstreamServers } from './etcfiles.js';
import { allocate, poolOf } from './ipam.js';
import { intToIp, ipToInt } from './ipv4.js';
import { addNetnsWithVeth, addVeth, deleteLink, macFor, nextIfname, vethName } from './links.js';
import { OPT_MTU, type NetworkManager } from './manager.js';
import { createNetns, isNsMount, netnsFile, netnsPath, removeNetns } from './netns.js';
import { LinkReaper } from './reaper.js';
import type { PortRule } from './nft.js';
import { candidates, portRequests, type PortRequest, type Published } from './ports.js';
import { openProxy, type PortProxy } from './proxy.js';
import type { EndpointRecord, NetworkRecord } from './store.js';
import { gatewayOf, networkSettings, prefixOf } from './view.js';

/** The containers' records, as the container service keeps them. */
export interface ContainerAccess {
  get(id: string): ContainerRecord | undefined;
  find(ref: string): ContainerRecord;
  save(c: ContainerRecord): void;
}

export interface EndpointOptions {
  manager: NetworkManager;
  execRoot: string;
  log: Logger;
  dns?: DnsRegistry;
  /** the host's /etc/resolv.conf (read at each start) */
  hostResolv?: () => string;
}

export interface EndpointConfig { Aliases?: string[] | null; Links?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null }

/** A removed network as a stopped container's settings still show it: its name and ID, nothing else. */
const goneNetwork = (e: EndpointRecord): NetworkRecord => ({
  Id: e.network, Name: e.networkName ?? e.network, Created: '', Driver: 'bridge', Internal: false, Attachable: false, IpamConfig: [], Options: {}, Labels: {}, bridge: '',
});

const isRunning = (c: ContainerRecord): boolean => c.State.Status === 'running' || c.State.Status === 'paused';
const modeIsOwnNetwork = (mode: string): boolean => mode !== 'host' && mode !== 'none' && !mode.startsWith('container:');

export class NetworkEndpoints implements NetworkAttacher {
  private containers?: ContainerAccess;
  private readonly proxies = new Map<string, PortProxy[]>();
  private readonly reaper: LinkReaper;

  constructor(private readonly o: EndpointOptions) {
    this.reaper = new LinkReaper(o.log);
  }

  private get m(): NetworkManager { return this.o.manager; }

  /** The container service, once it exists (it needs this attacher first). */
  bindContainers(c: ContainerAccess): void { this.containers = c; }

  private access(): ContainerAccess {
    if (!this.containers) throw new BerthError('internal', 'the network endpoints have no container store yet');
    return this.containers;
  }

  // ---- NetworkAttacher ----

  validate(mode: string): void {
    if (mode === 'host' || mode === 'none' || mode === 'bridge' || mode === 'default' || mode === '') return;
    if (mode.startsWith('container:')) {
      if (mode === 'container:') throw invalidArgument('invalid network mode container: name the container whose network to join');
      return;
    }
    this.m.find(mode);
  }

  /** A new container's endpoints: its network mode's network and any other EndpointsConfig names. */
  created(c: ContainerRecord, networking: unknown): void {
    const mode = networkMode(c);
    const wanted = ((networking as { EndpointsConfig?: Record<string, EndpointConfig | null> } | undefined)?.EndpointsConfig) ?? {};
    if (modeIsOwnNetwork(mode)) {
      const net = this.m.find(mode);
      this.addEndpointRow(c, net, wanted[mode] ?? wanted[net.Name] ?? wanted[net.Id] ?? null);
      for (const [ref, cfg] of Object.entries(wanted)) {
        const other = this.m.tryFind(ref);
        if (other && other.Id !== net.Id && other.Driver === 'bridge') this.addEndpointRow(c, other, cfg);
      }
    }
    c.NetworkSettings = this.settings(c);
    this.access().save(c);
  }

  private addEndpointRow(c: ContainerRecord, net: NetworkRecord, cfg: EndpointConfig | null): EndpointRecord {
    if (net.Driver !== 'bridge') throw invalidArgument(`container cannot be connected to the ${net.Name} network this way`);
    const ip = cfg?.IPAMConfig?.IPv4Address ?? '';
    const aliases = cfg?.Aliases ?? [];
    if ((ip !== '' || aliases.length > 0) && net.Name === 'bridge') {
      throw invalidArgument(ip !== '' ? 'user specified IP address is supported on user defined networks only' : 'network-scoped alias is supported only for containers in user defined networks');
    }
    if (ip !== '') poolOf(net.IpamConfig[0]!) && allocate(poolOf(net.IpamConfig[0]!), new Set(), ip); // inside the subnet
    const e: EndpointRecord = { container: c.ID, network: net.Id, networkName: net.Name, aliases: [...aliases], ipv4Address: ip, links: [...(cfg?.Links ?? [])], endpointId: '', ip: '', mac: '', veth: '', ifname: '' };
    this.m.store.saveEndpoint(e);
    return e;
  }

  async attach(c: ContainerRecord): Promise<NetworkAttachment> {
    const mode = networkMode(c);
    await this.release(c);
    if (mode === 'host') return { host: true, ip: '', settings: this.settings(c) };
    if (mode.startsWith('container:')) return this.joinContainer(c, mode.slice('container:'.length));
    if (modeIsOwnNetwork(mode)) this.resolveNetworks(c);
    const requests = mode === 'none' ? [] : portRequests(c.HostConfig.PortBindings, c.Config.ExposedPorts, c.HostConfig.PublishAllPorts === true);
    let proxies: PortProxy[] = [];
    let published: Published[] = [];
    try {
      ({ proxies, published } = await this.bindPorts(requests));
    } catch (err) {
      throw new BerthError(err instanceof BerthError ? err.kind : 'internal', `cannot start container ${c.Name.slice(1)}: ${(err as Error).message}`);
    }
    this.proxies.set(c.ID, proxies);
    const path = netnsPath(this.o.execRoot, c.ID);
    try {
      const eps = this.m.store.endpoints({ container: c.ID });
      // the pairs of this container's last run may still be going (a restart): same names
      for (const e of eps) await this.reaper.settled(vethName(c.ID, e.network));
      // the usual case, a new namespace with one endpoint at least: made with its first veth in one child
      const fresh = eps.length > 0 && !isNsMount(path);
      if (fresh) netnsFile(path);
      else createNetns(path);
      this.m.store.saveSandbox({ container: c.ID, netns: path, ports: published });
      const taken: string[] = [];
      for (const [i, e] of eps.entries()) {
        const ifname = nextIfname(taken);
        taken.push(ifname);
        this.plug(c, e, this.m.find(e.network), path, ifname, i === 0, fresh && i === 0);
      }
      this.publishPorts(c);
      this.m.syncRules();
      const ips = this.m.store.endpoints({ container: c.ID }).map((e) => e.ip).filter((ip) => ip !== '');
      this.writeResolv(c);
      const hosts = hostsText({ hostname: c.Config.Hostname || c.ID.slice(0, 12), domainname: c.Config.Domainname, ips: ips.slice(0, 1), extraHosts: c.HostConfig.ExtraHosts ?? [], hostGateway: this.hostGateway() });
      await this.registerDns(c);
      return { host: false, netnsPath: path, ip: ips[0] ?? '', settings: this.settings(c), hosts };
    } catch (err) {
      await this.release(c);
      throw err;
    }
  }

  async detach(c: ContainerRecord): Promise<void> {
    await this.release(c);
    c.NetworkSettings = this.settings(c);
  }

  /** Everything a run set up, gone; safe to repeat. */
  private async release(c: ContainerRecord): Promise<void> {
    for (const p of this.proxies.get(c.ID) ?? []) await p.close().catch(() => undefined);
    this.proxies.delete(c.ID);
    this.m.setPortRules(c.ID, undefined);
    const plugged = this.m.store.endpoints({ container: c.ID }).filter((e) => e.ip !== '' || e.veth !== '');
    for (const e of plugged) await this.unregisterDns(e);
    const sb = this.m.store.sandbox(c.ID);
    // one commit, no sync: rows a power cut brings back name a container not running, which the
    // next start's reconcile clears. The veths go in the background: an exit or a removal does
    // not wait for the kernel (reaper.ts).
    this.m.store.unsynced(() => {
      for (const e of plugged) this.clearEndpoint(e, { background: true });
      if (sb) this.m.store.deleteSandbox(c.ID);
    });
    removeNetns(netnsPath(this.o.execRoot, c.ID));
    try { this.m.syncRules(); } catch (err) { this.o.log.warn('cannot rewrite the network rules', { id: c.ID, error: (err as Error).message }); }
  }

  /**
   * Before a start, each endpoint's network must still exist (nothing is made
   * otherwise). As with dockerd: an endpoint that never held an address finds
   * a network of its name made again; any other names its network by ID.
   */
  private resolveNetworks(c: ContainerRecord): void {
    for (const e of this.m.store.endpoints({ container: c.ID })) {
      if (this.m.tryFind(e.network)) continue;
      const again = !e.attached && e.networkName ? this.m.tryFind(e.networkName) : undefined;
      if (!again || again.Driver !== 'bridge') throw notFound(`network ${!e.attached && e.networkName ? e.networkName : e.network} not found`);
      this.m.store.deleteEndpoint(c.ID, e.network);
      this.m.store.saveEndpoint({ ...e, network: again.Id });
    }
  }

  /** An endpoint of c whose network is gone, named by ref (its network's name or ID). */
  private staleEndpoint(c: ContainerRecord, ref: string): EndpointRecord | undefined {
    return this.m.store.endpoints({ container: c.ID }).find((e) => !this.m.tryFind(e.network) && (e.networkName === ref || e.network === ref || (ref.length >= 12 && e.network.startsWith(ref))));
  }

  /** The container was removed: its endpoints go with it. */
  removed(id: string): void {
    this.m.store.forget(id);
  }

  // ---- endpoints ----

  /** One endpoint plugged (newNetns: the namespace file is still empty, made here with it). */
  private plug(c: ContainerRecord, e: EndpointRecord, net: NetworkRecord, netns: string, ifname: string, defaultRoute: boolean, newNetns = false): void {
    const pool = poolOf(net.IpamConfig[0]!);
    const used = new Set(this.m.store.endpoints({ network: net.Id }).filter((x) => x.ip !== '' && x.container !== c.ID).map((x) => ipToInt(x.ip)));
    for (const ip of this.reaper.addresses(net.Id)) used.add(ipToInt(ip));
    const ip = intToIp(allocate(pool, used, e.ipv4Address || undefined));
    const veth = vethName(c.ID, net.Id);
    const mtu = net.Options[OPT_MTU] && net.Options[OPT_MTU] !== '1500' ? Number(net.Options[OPT_MTU]) : undefined;
    const plan = { veth, bridge: net.bridge, netns, ifname, ip, prefix: prefixOf(net), mac: macFor(ip), gateway: defaultRoute && !net.Internal ? gatewayOf(net) : undefined, mtu };
    if (newNetns) addNetnsWithVeth(plan); else addVeth(plan);
    Object.assign(e, { ip, mac: macFor(ip), veth, ifname, endpointId: randomBytes(32).toString('hex'), attached: true });
    this.m.store.saveEndpoint(e);
    this.m.setVeth(net.Id, veth, true);
  }

  private async unplug(e: EndpointRecord): Promise<void> {
    await this.unregisterDns(e);
    this.clearEndpoint(e);
  }

  private async unregisterDns(e: EndpointRecord): Promise<void> {
    if (this.o.dns) await Promise.resolve(this.o.dns.unregister(e.network, e.container)).catch(() => undefined);
  }

  /** The endpoint's veth deleted (with background: started, not awaited) and its row cleared. */
  private clearEndpoint(e: EndpointRecord, opts: { background?: boolean } = {}): void {
    if (e.veth && opts.background) this.reaper.remove(e.veth, e.network, e.ip);
    else if (e.veth) deleteLink(e.veth);
    this.m.setVeth(e.network, e.veth, false);
    Object.assign(e, { ip: '', mac: '', veth: '', ifname: '', endpointId: '' });
    this.m.store.saveEndpoint(e);
  }

  private async bindPorts(requests: readonly PortRequest[]): Promise<{ proxies: PortProxy[]; published: Published[] }> {
    const out: PortProxy[] = [];
    const published: Published[] = [];
    try {
      for (const r of requests) {
        const p = await this.bindOne(r, out);
        out.push(p);
        published.push({ proto: r.proto, containerPort: r.containerPort, hostIp: r.hostIp, hostPort: p.hostPort });
      }
      return { proxies: out, published };
    } catch (err) {
      for (const p of out) await p.close().catch(() => undefined);
      throw err;
    }
  }

  private async bindOne(r: PortRequest, taken: readonly PortProxy[]): Promise<PortProxy> {
    let last: unknown;
    for (const port of candidates(r)) {
      if (taken.some((p) => p.hostPort === port && p.proto === r.proto)) continue;
      try { return await openProxy(r.proto, r.hostIp, port); } catch (err) {
        last = err;
        if (r.lo !== 0 && r.lo === r.hi) break;
      }
    }
    throw last ?? new BerthError('failed-precondition', `no free host port for ${r.containerPort}/${r.proto}`);
  }

  /** DNAT rules and proxy targets to the container's address on its first network. */
  private publishPorts(c: ContainerRecord): void {
    const sb = this.m.store.sandbox(c.ID);
    const first = this.m.store.endpoints({ container: c.ID }).find((e) => e.ip !== '');
    const proxies = this.proxies.get(c.ID) ?? [];
    if (!sb || !first) { this.m.setPortRules(c.ID, undefined); return; }
    const net = this.m.find(first.network);
    const rules: PortRule[] = sb.ports.map((p) => ({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, ip: first.ip, port: p.containerPort, bridge: net.bridge }));
    for (const px of proxies) {
      const p = sb.ports.find((x) => x.hostPort === px.hostPort && x.proto === px.proto && x.hostIp === px.hostIp);
      if (p) px.target = { ip: first.ip, port: p.containerPort };
    }
    this.m.setPortRules(c.ID, rules);
  }

  private async joinContainer(c: ContainerRecord, ref: string): Promise<NetworkAttachment> {
    const other = this.access().find(ref);
    if (other.ID === c.ID) throw invalidArgument(`cannot join own network namespace: container ${c.Name.slice(1)}`);
    if (!isRunning(other)) throw failedPrecondition(`cannot join network namespace of a non running container: container ${other.Name.slice(1)} is ${other.State.Status}`);
    const sb = this.m.store.sandbox(other.ID);
    if (!sb) {
      if (networkMode(other) === 'host') return { host: true, ip: '', settings: emptySettings([]) };
      if (networkMode(other).startsWith('container:')) return this.joinContainer(c, networkMode(other).slice('container:'.length));
      throw failedPrecondition(`cannot join network namespace of container ${other.Name.slice(1)}: it has no network namespace of its own`);
    }
    try { writeFileSync(c.ResolvConfPath, readFileSync(other.ResolvConfPath)); } catch { /* the other's file is gone: keep ours */ }
    let hosts: string | undefined;
    try { hosts = readFileSync(other.HostsPath, 'utf8'); } catch { hosts = undefined; }
    return { host: false, netnsPath: sb.netns, ip: '', settings: emptySettings([]), hosts };
  }

  private hostGateway(): string | undefined {
    const b = this.m.tryFind('bridge');
    return b ? gatewayOf(b) : undefined;
  }

  private userNetwork(c: ContainerRecord): NetworkRecord | undefined {
    const e = this.m.store.endpoints({ container: c.ID })[0];
    const n = e ? this.m.tryFind(e.network) : undefined;
    return n && n.Name !== 'bridge' ? n : undefined;
  }

  private resolvInput(c: ContainerRecord): { host: string; dns: string[]; search: string[]; options: string[] } {
    return { host: (this.o.hostResolv ?? (() => readFileSync('/etc/resolv.conf', 'utf8')))(), dns: c.HostConfig.Dns ?? [], search: c.HostConfig.DnsSearch ?? [], options: c.HostConfig.DnsOptions ?? [] };
  }

  private writeResolv(c: ContainerRecord): void {
    let host = '';
    try { host = this.resolvInput(c).host; } catch { host = ''; }
    const embedded = this.o.dns !== undefined && this.userNetwork(c) !== undefined;
    writeFileSync(c.ResolvConfPath, resolvText({ ...this.resolvInput(c), host, embedded }));
  }

  /** The names a container answers to on a network (user-defined networks only). */
  dnsNames(c: ContainerRecord, e: EndpointRecord): string[] | null {
    const n = this.m.tryFind(e.network);
    if (!n || n.Name === 'bridge') return null;
    return [c.Name.slice(1), ...e.aliases, c.ID.slice(0, 12)];
  }

  private async registerDns(c: ContainerRecord): Promise<void> {
    const dns = this.o.dns;
    const sb = this.m.store.sandbox(c.ID);
    if (!dns || !sb) return;
    let upstream: string[] = [];
    try { upstream = upstreamServers(this.resolvInput(c)); } catch { upstream = []; }
    for (const e of this.m.store.endpoints({ container: c.ID })) {
      const names = this.dnsNames(c, e);
      const n = this.m.tryFind(e.network);
      if (names && e.ip && n) {
        await dns.register({ network: e.network, container: c.ID, names, ip: e.ip, netns: sb.netns, upstream, gateway: gatewayOf(n), networkName: n.Name, internal: n.Internal });
      }
    }
  }

  /** Docker's NetworkSettings for the container as it is now. */
  settings(c: ContainerRecord): Record<string, unknown> {
    const mode = networkMode(c);
    if (mode.startsWith('container:')) return emptySettings([]);
    const sb = this.m.store.sandbox(c.ID);
    let on: { network: NetworkRecord; endpoint?: EndpointRecord; dnsNames: string[] | null }[];
    if (mode === 'host' || mode === 'none') {
      const n = this.m.tryFind(mode);
      on = n ? [{ network: n, dnsNames: null }] : [];
    } else {
      on = this.m.store.endpoints({ container: c.ID }).map((e) => {
        const n = this.m.tryFind(e.network);
        return n ? { network: n, endpoint: e, dnsNames: this.dnsNames(c, e) } : { network: goneNetwork(e), endpoint: e, dnsNames: null };
      });
    }
    return networkSettings({ on, sandbox: sb, exposed: c.Config.ExposedPorts, published: sb?.ports ?? [] });
  }

  // ---- connect, disconnect ----

  async connect(netRef: string, ref: string, cfg: EndpointConfig | null): Promise<void> {
    // the container is looked up first: with both missing, dockerd names the container
    const c = this.access().find(ref);
    const net = this.m.find(netRef);
    const mode = networkMode(c);
    if (net.Driver === 'host' || mode === 'host') throw failedPrecondition('container cannot be disconnected from host network or connected to host network');
    if (net.Driver === 'null' || mode === 'none') throw failedPrecondition('container cannot be connected to multiple networks with one of the networks in private (none) mode');
    if (mode.startsWith('container:')) throw failedPrecondition(`container sharing network namespace with another container or host cannot be connected to any other network`);
    if (this.m.store.endpoints({ container: c.ID, network: net.Id }).length > 0) throw new BerthError('permission-denied', `endpoint with name ${c.Name.slice(1)} already exists in network ${net.Name}`);
    const e = this.addEndpointRow(c, net, cfg);
    const sb = this.m.store.sandbox(c.ID);
    if (isRunning(c) && sb) {
      await this.reaper.settled(vethName(c.ID, net.Id));
      const taken = this.m.store.endpoints({ container: c.ID }).map((x) => x.ifname).filter((x) => x !== '');
      try {
        this.plug(c, e, net, sb.netns, nextIfname(taken), taken.length === 0);
        this.publishPorts(c);
        this.m.syncRules();
        await this.registerDns(c);
      } catch (err) {
        await this.unplug(e).catch(() => undefined);
        this.m.store.deleteEndpoint(c.ID, net.Id);
        throw err;
      }
    }
    c.NetworkSettings = this.settings(c);
    this.access().save(c);
    this.m.o.events.publish('network', 'connect', { ID: net.Id, Attributes: { container: c.ID, name: net.Name, type: net.Driver } });
  }

  async disconnect(netRef: string, ref: string, force: boolean): Promise<void> {
    let c: ContainerRecord | undefined;
    try { c = this.access().find(ref); } catch (err) {
      if (!force) throw err;
      // force: an endpoint left by a container that is gone
      const gone = this.m.find(netRef);
      for (const e of this.m.store.endpoints({ network: gone.Id })) if (e.container.startsWith(ref)) { await this.unplug(e); this.m.store.deleteEndpoint(e.container, e.network); }
      return;
    }
    // a stopped container's endpoint on a removed network: only the row is left to take away
    const stale = isRunning(c) ? undefined : this.staleEndpoint(c, netRef);
    if (stale) {
      this.m.store.deleteEndpoint(c.ID, stale.network);
      c.NetworkSettings = this.settings(c);
      this.access().save(c);
      return;
    }
    const net = this.m.find(netRef);
    if (net.Driver === 'host') throw failedPrecondition('container cannot be disconnected from host network or connected to host network');
    const e = this.m.store.endpoints({ container: c.ID, network: net.Id })[0];
    if (!e) throw failedPrecondition(`container ${c.ID} is not connected to network ${net.Name}`);
    if (e.ip !== '' || e.veth !== '') await this.unplug(e);
    this.m.store.deleteEndpoint(c.ID, net.Id);
    this.publishPorts(c);
    try { this.m.syncRules(); } catch (err) { this.o.log.warn('cannot rewrite the network rules', { error: (err as Error).message }); }
    c.NetworkSettings = this.settings(c);
    this.access().save(c);
    this.m.o.events.publish('network', 'disconnect', { ID: net.Id, Attributes: { container: c.ID, name: net.Name, type: net.Driver } });
  }

  // ---- berthd start and stop ----

  /**
   * After the containers' view is rebuilt: a running container keeps its
   * namespace, veths and rules, and gets its proxies back; everything else
   * (namespace files, veths on our bridges, endpoints holding addresses,
   * rules) of containers not running goes.
   */
  async reconcile(listNetns: () => string[], vethsOnBridges: () => string[]): Promise<void> {
    const keep = new Set<string>();
    for (const sb of this.m.store.sandboxes()) {
      const c = this.access().get(sb.container);
      if (c && isRunning(c)) { keep.add(c.ID); await this.restore(c); continue; }
      if (c) await this.detach(c).then(() => this.access().save(c));
      else { await this.release({ ID: sb.container } as ContainerRecord); this.m.store.forget(sb.container); }
    }
    for (const e of this.m.store.endpoints()) if (!keep.has(e.container) && (e.ip !== '' || e.veth !== '')) await this.unplug(e);
    for (const id of listNetns()) if (!keep.has(id)) removeNetns(netnsPath(this.o.execRoot, id));
    const live = new Set(this.m.store.endpoints().map((e) => e.veth).filter((v) => v !== ''));
    for (const v of vethsOnBridges()) if (!live.has(v)) deleteLink(v);
    this.m.syncRules();
  }

  /** A running container found at start: proxies bound again, rules and DNS as before. */
  private async restore(c: ContainerRecord): Promise<void> {
    const sb = this.m.store.sandbox(c.ID)!;
    if (!this.proxies.has(c.ID)) {
      const proxies: PortProxy[] = [];
      for (const p of sb.ports) {
        try { proxies.push(await openProxy(p.proto, p.hostIp, p.hostPort)); } catch (err) {
          this.o.log.warn('cannot bind a published port again', { id: c.ID, port: p.hostPort, error: (err as Error).message });
        }
      }
      this.proxies.set(c.ID, proxies);
    }
    for (const e of this.m.store.endpoints({ container: c.ID })) if (e.veth) this.m.setVeth(e.network, e.veth, true);
    this.publishPorts(c);
    await this.registerDns(c);
  }

  /** berthd stops: proxies close; with no container running the bridges and rules go too. */
  async stop(): Promise<void> {
    await this.reaper.idle();
    for (const ps of this.proxies.values()) for (const p of ps) await p.close().catch(() => undefined);
    this.proxies.clear();
    if (this.m.store.sandboxes().length === 0) this.m.teardown();
  }
}

