/**
 * Networking assembled for berthd: the kernel objects' names (berth0 and
 * the `berth` tables for the default exec-root; a berthd on a private
 * exec-root names its own after it, so several can run side by side), the
 * manager, the endpoints the containers use, and the start/stop steps.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import { DEFAULT_EXEC_ROOT, type DaemonConfig } from '../config.js';
import type { EventBus } from '../events.js';
import type { StateDb } from '../state/db.js';
import type { DnsRegistry } from './dns.js';
import { NetworkEndpoints, type ContainerAccess } from './endpoints.js';
import { vethsOn } from './links.js';
import { NetworkManager } from './manager.js';
import { listNetns } from './netns.js';
import { warmProxies } from './proxy.js';
import { DaemonNetworks } from './service.js';

export function networkInstance(execRoot: string): { bridge: string; table: string } {
  if (execRoot === DEFAULT_EXEC_ROOT) return { bridge: 'berth0', table: 'berth' };
  const h = createHash('sha256').update(execRoot).digest('hex').slice(0, 6);
  return { bridge: `berth-${h}`, table: `berth-${h}` };
}

export interface NetworkingOptions { db: StateDb; log: Logger; events: EventBus; config: DaemonConfig; dns?: DnsRegistry }

/** What the container service offers networking: its records and its removals. */
export interface ContainerSource {
  store: ContainerAccess;
  on(event: 'removed', fn: (id: string) => void): void;
}

export class DaemonNetworking {
  readonly manager: NetworkManager;
  readonly endpoints: NetworkEndpoints;
  private containers?: ContainerAccess;

  /** Predefined networks, forwarding and bridges are ready when this returns. */
  constructor(private readonly o: NetworkingOptions) {
    this.manager = new NetworkManager({ db: o.db, log: o.log, events: o.events, pools: o.config.defaultAddressPools, instance: networkInstance(o.config.execRoot) });
    this.manager.init();
    this.endpoints = new NetworkEndpoints({ manager: this.manager, execRoot: o.config.execRoot, log: o.log, dns: o.dns });
    warmProxies();
  }

  bind(source: ContainerSource): void {
    this.containers = source.store;
    this.endpoints.bindContainers(source.store);
    source.on('removed', (id) => this.endpoints.removed(id));
  }

  backend(): DaemonNetworks {
    const c = this.containers;
    if (!c) throw new Error('networking is not bound to the containers yet');
    return new DaemonNetworks(this.manager, this.endpoints, c);
  }

  /** After the containers' view is rebuilt: leftovers of containers not running go, the running get their ports back. */
  async reconcile(): Promise<void> {
    const bridges = new Set(this.manager.list().map((n) => n.bridge).filter((b) => b !== ''));
    await this.endpoints.reconcile(() => listNetns(this.o.config.execRoot), () => vethsOn(bridges));
  }

  stop(): Promise<void> { return this.endpoints.stop(); }
}
