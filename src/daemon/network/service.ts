/**
 * The network routes' backend: list with Docker's filters, inspect with the
 * Containers map, create, remove, prune, connect and disconnect, on the
 * manager (networks) and the endpoints (containers on them).
 */
import { invalidArgument } from '../../common/errors.js';
import type { Filters, NetworksBackend } from '../../api/index.js';
import type { ContainerAccess, EndpointConfig, NetworkEndpoints } from './endpoints.js';
import { PREDEFINED, type NetworkCreate, type NetworkManager } from './manager.js';
import type { NetworkRecord } from './store.js';
import { networkDocument, prefixOf, type NetworkContainer } from './view.js';

const LIST_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];
const PRUNE_FILTERS = ['until', 'label', 'label!'];

function labelMatch(labels: Record<string, string>, want: string): boolean {
  const eq = want.indexOf('=');
  return eq < 0 ? want in labels : labels[want.slice(0, eq)] === want.slice(eq + 1);
}

/** Docker's "until": a duration before now, a timestamp, or an RFC 3339 date. */
function untilMs(v: string, now = Date.now()): number {
  const d = /^(\d+(?:\.\d+)?)(h|m|s)$/.exec(v);
  if (d) return now - Number(d[1]) * ({ h: 3_600_000, m: 60_000, s: 1000 } as const)[d[2] as 'h' | 'm' | 's'];
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidArgument(`invalid filter 'until=${v}'`);
  return t;
}

export class DaemonNetworks implements NetworksBackend {
  constructor(private readonly m: NetworkManager, private readonly eps: NetworkEndpoints, private readonly containers: ContainerAccess) {}

  private containersOf(n: NetworkRecord): Record<string, NetworkContainer> {
    const out: Record<string, NetworkContainer> = {};
    for (const e of this.m.store.endpoints({ network: n.Id })) {
      if (e.ip === '') continue;
      const c = this.containers.get(e.container);
      out[e.container] = { Name: c ? c.Name.slice(1) : e.container.slice(0, 12), EndpointID: e.endpointId, MacAddress: e.mac, IPv4Address: `${e.ip}/${prefixOf(n)}`, IPv6Address: '' };
    }
    return out;
  }

  private matches(n: NetworkRecord, f: Filters): boolean {
    const builtin = PREDEFINED.includes(n.Name as typeof PREDEFINED[number]);
    if (f.has('driver') && !f.get('driver').includes(n.Driver)) return false;
    if (f.has('id') && !f.get('id').some((p) => n.Id.startsWith(p))) return false;
    if (f.has('name') && !f.get('name').some((p) => n.Name.includes(p))) return false;
    if (f.has('label') && !f.get('label').every((l) => labelMatch(n.Labels, l))) return false;
    if (f.has('scope') && !f.get('scope').includes('local')) return false;
    if (f.has('type')) {
      for (const t of f.get('type')) if (t !== 'custom' && t !== 'builtin') throw invalidArgument(`invalid filter: 'type'='${t}'`);
      if (!f.get('type').includes(builtin ? 'builtin' : 'custom')) return false;
    }
    if (f.has('dangling')) {
      const want = f.get('dangling')[0] === 'true' || f.get('dangling')[0] === '1';
      const dangling = !builtin && this.m.store.endpoints({ network: n.Id }).length === 0;
      if (want !== dangling) return false;
    }
    return true;
  }

  async list(f: Filters): Promise<Record<string, unknown>[]> {
    f.validate(LIST_FILTERS);
    return this.m.list().filter((n) => this.matches(n, f)).map((n) => networkDocument(n, this.containersOf(n)));
  }

  async inspect(ref: string): Promise<Record<string, unknown>> {
    const n = this.m.find(ref);
    return networkDocument(n, this.containersOf(n));
  }

  async create(body: Record<string, unknown>): Promise<{ Id: string; Warning: string }> {
    return this.m.create(body as unknown as NetworkCreate);
  }

  async remove(ref: string): Promise<void> { this.m.remove(ref); }

  async connect(ref: string, container: string, config: unknown): Promise<void> {
    await this.eps.connect(ref, container, (config ?? null) as EndpointConfig | null);
  }

  async disconnect(ref: string, container: string, force: boolean): Promise<void> {
    await this.eps.disconnect(ref, container, force);
  }

  async prune(f: Filters): Promise<{ NetworksDeleted: string[] | null }> {
    f.validate(PRUNE_FILTERS);
    const until = f.has('until') ? untilMs(f.get('until')[0]!) : undefined;
    return this.m.prune((n) => (until === undefined || Date.parse(n.Created) < until)
      && (!f.has('label') || f.get('label').every((l) => labelMatch(n.Labels, l)))
      && (!f.has('label!') || !f.get('label!').some((l) => labelMatch(n.Labels, l))));
  }
}
