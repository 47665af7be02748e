/** The Leases service. */
import { invalidArgument } from '../../common/errors.js';
import type { LeaseMessage } from '../api/types.js';
import { toTimestamp } from '../api/types.js';
import type { Lease } from '../leases/types.js';
import type { UnaryHandlers } from './context.js';
import type { ImageContext } from './images.js';

export const leaseMessage = (l: Lease): LeaseMessage => ({
  id: l.id, labels: l.labels, createdAt: toTimestamp(l.createdAt), expiresAt: l.expiresAt === 0 ? null : toTimestamp(l.expiresAt),
});

export function leasesService(ic: ImageContext): UnaryHandlers<'Leases'> {
  const { leases } = ic;
  return {
    Create: (req, call) => {
      const seconds = Number(req.expireSeconds || '0');
      if (!Number.isFinite(seconds) || seconds < 0) throw invalidArgument(`cannot create lease: expire_seconds ${req.expireSeconds} is not a positive number`);
      return { lease: leaseMessage(leases.create(call.namespace, req.id === '' ? undefined : req.id, req.labels ?? {}, seconds === 0 ? 0 : Date.now() + seconds * 1000)) };
    },
    Delete: async (req, call) => {
      leases.delete(call.namespace, req.id);
      if (req.sync) await ic.collect();
      return {};
    },
    List: (req, call) => ({ leases: leases.list(call.namespace, req.filters ?? []).map(leaseMessage) }),
    AddResource: (req, call) => {
      if (!req.resource) throw invalidArgument(`cannot add a resource to lease ${req.id}: the request has none`);
      leases.addResource(call.namespace, req.id, req.resource);
      return {};
    },
    DeleteResource: (req, call) => {
      if (!req.resource) throw invalidArgument(`cannot delete a resource of lease ${req.id}: the request has none`);
      leases.deleteResource(call.namespace, req.id, req.resource);
      return {};
    },
    ListResources: (req, call) => ({ resources: leases.listResources(call.namespace, req.id) }),
  };
}
