/**
 * Networks, endpoints and sandboxes in berthd's state DB (migration 4):
 * what must survive a restart of berthd — each network with its IPAM, each
 * container's endpoints (wanted aliases and address, and while running the
 * address held), and each running container's namespace and published ports.
 */
import { alreadyExists } from '../../common/errors.js';
import { withoutSync, type StateDb } from '../state/db.js';
import type { IpamConfig } from './ipam.js';
import type { Published } from './ports.js';

export type Driver = 'bridge' | 'host' | 'null';

export interface NetworkRecord {
  Id: string;
  Name: string;
  Created: string;
  Driver: Driver;
  Internal: boolean;
  Attachable: boolean;
  IpamConfig: IpamConfig[];
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** the Linux bridge (bridge driver only) */
  bridge: string;
}

export interface EndpointRecord {
  container: string;
  network: string;
  /**
   * the network's name when the endpoint was made: a removed network's
   * stopped containers keep their endpoint (as with Docker), shown under
   * this name, and one never started finds a network made again by name
   */
  networkName?: string;
  /** the endpoint has held an address once: from then on it names its network by ID */
  attached?: boolean;
  /** what the user asked for: aliases, a fixed address */
  aliases: string[];
  ipv4Address: string;
  links: string[];
  /** while attached: the endpoint's ID, address, MAC and interfaces */
  endpointId: string;
  ip: string;
  mac: string;
  veth: string;
  ifname: string;
}

export interface SandboxRecord {
  container: string;
  netns: string;
  ports: Published[];
}

export class NetworkStore {
  constructor(private readonly db: StateDb) {}

  networks(): NetworkRecord[] {
    return (this.db.prepare('SELECT record FROM networks ORDER BY name').all() as { record: string }[]).map((r) => JSON.parse(r.record) as NetworkRecord);
  }

  saveNetwork(n: NetworkRecord, create = false): void {
    try {
      if (create) this.db.prepare('INSERT INTO networks (id, name, record) VALUES (?, ?, ?)').run(n.Id, n.Name, JSON.stringify(n));
      else this.db.prepare('UPDATE networks SET name = ?, record = ? WHERE id = ?').run(n.Name, JSON.stringify(n), n.Id);
    } catch (err) {
      if (String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw alreadyExists(`network with name ${n.Name} already exists`);
      throw err;
    }
  }

  deleteNetwork(id: string): void {
    this.db.prepare('DELETE FROM networks WHERE id = ?').run(id);
  }

  endpoints(filter: { container?: string; network?: string } = {}): EndpointRecord[] {
    const rows = this.db.prepare('SELECT record FROM net_endpoints WHERE (@c IS NULL OR container = @c) AND (@n IS NULL OR network = @n) ORDER BY rowid')
      .all({ c: filter.container ?? null, n: filter.network ?? null }) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as EndpointRecord);
  }

  saveEndpoint(e: EndpointRecord): void {
    this.db.prepare('INSERT INTO net_endpoints (container, network, record) VALUES (?, ?, ?) ON CONFLICT (container, network) DO UPDATE SET record = excluded.record')
      .run(e.container, e.network, JSON.stringify(e));
  }

  deleteEndpoint(container: string, network: string): void {
    this.db.prepare('DELETE FROM net_endpoints WHERE container = ? AND network = ?').run(container, network);
  }

  sandbox(container: string): SandboxRecord | undefined {
    const r = this.db.prepare('SELECT record FROM net_sandboxes WHERE container = ?').get(container) as { record: string } | undefined;
    return r ? JSON.parse(r.record) as SandboxRecord : undefined;
  }

  sandboxes(): SandboxRecord[] {
    return (this.db.prepare('SELECT record FROM net_sandboxes').all() as { record: string }[]).map((r) => JSON.parse(r.record) as SandboxRecord);
  }

  saveSandbox(s: SandboxRecord): void {
    this.db.prepare('INSERT INTO net_sandboxes (container, record) VALUES (?, ?) ON CONFLICT (container) DO UPDATE SET record = excluded.record').run(s.container, JSON.stringify(s));
  }

  deleteSandbox(container: string): void {
    this.db.prepare('DELETE FROM net_sandboxes WHERE container = ?').run(container);
  }

  /**
   * fn's writes in one transaction committed without waiting for the disk:
   * for what a start's reconcile would set right anyway if a power cut took
   * it back (a run's endpoints and sandbox released).
   */
  unsynced<T>(fn: () => T): T {
    return withoutSync(this.db, () => this.db.transaction(fn)());
  }

  /** Everything of a removed container. */
  forget(container: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM net_endpoints WHERE container = ?').run(container);
      this.db.prepare('DELETE FROM net_sandboxes WHERE container = ?').run(container);
    })();
  }
}
