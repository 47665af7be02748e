/** The Namespaces service over the namespace store; every change is published. */
import { checkIdentifier } from '../identifiers.js';
import type { Namespace } from '../api/types.js';
import { toTimestamp } from '../api/types.js';
import type { NamespaceRecord } from '../namespaces/store.js';
import type { ServiceContext, UnaryHandlers } from './context.js';

export const namespaceMessage = (r: NamespaceRecord): Namespace => ({ name: r.name, labels: r.labels, createdAt: toTimestamp(r.createdAt) });

export function namespacesService(ctx: ServiceContext): UnaryHandlers<'Namespaces'> {
  const { store, bus } = ctx;
  return {
    Get: (req) => ({ namespace: namespaceMessage(store.namespaces.get(checkIdentifier('namespace', req.name))) }),
    List: () => ({ namespaces: store.namespaces.list().map(namespaceMessage) }),
    Create: (req) => {
      const r = store.namespaces.create(checkIdentifier('namespace', req.name), req.labels ?? {});
      bus.publish(r.name, '/namespaces/create', { name: r.name, labels: r.labels });
      return { namespace: namespaceMessage(r) };
    },
    Update: (req) => {
      const r = store.namespaces.updateLabels(checkIdentifier('namespace', req.name), req.setLabels ?? {}, req.removeLabels ?? []);
      bus.publish(r.name, '/namespaces/update', { name: r.name, labels: r.labels });
      return { namespace: namespaceMessage(r) };
    },
    Delete: (req) => {
      const name = checkIdentifier('namespace', req.name);
      store.namespaces.delete(name);
      bus.publish(name, '/namespaces/delete', { name });
      return {};
    },
  };
}
