/**
 * What every service handler receives, and the glue from typed handlers to
 * grpc-js: the namespace read from the call's metadata, thrown errors turned
 * into statuses (errors.ts), one log line per failed call.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/log.js';
import type { Api } from '../api/types.js';
import { DEFAULT_NAMESPACE, NAMESPACE_KEY } from '../api/proto.js';
import type { CoreConfig } from '../config.js';
import { toStatus } from '../errors.js';
import type { EventBus } from '../events.js';
import { checkIdentifier } from '../identifiers.js';
import type { MetadataStore } from '../metadata/store.js';

export interface ServiceContext {
  store: MetadataStore;
  bus: EventBus;
  config: CoreConfig;
  log: Logger;
}

export interface CallInfo {
  /** the request's namespace (metadata berth-namespace, "default" when absent) */
  namespace: string;
}

export function namespaceOf(metadata: grpc.Metadata): string {
  const v = metadata.get(NAMESPACE_KEY)[0];
  const ns = typeof v === 'string' ? v : v instanceof Buffer ? v.toString() : DEFAULT_NAMESPACE;
  return checkIdentifier('namespace', ns === '' ? DEFAULT_NAMESPACE : ns);
}

export type UnaryHandlers<S extends keyof Api> = {
  [M in keyof Api[S]]: Api[S][M] extends [infer Req, infer Res] ? (req: Req, call: CallInfo) => Res | Promise<Res> : never;
};

/** grpc-js handlers for a table of typed unary handlers. */
export function unaryHandlers<S extends keyof Api>(service: S, handlers: UnaryHandlers<S>, log: Logger): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [method, fn] of Object.entries(handlers) as [string, (req: unknown, call: CallInfo) => unknown][]) {
    out[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
      void (async () => {
        try {
          const namespace = namespaceOf(call.metadata);
          callback(null, await fn(call.request, { namespace }));
        } catch (err) {
          const status = toStatus(err);
          log.debug('call failed', { method: `${service}.${method}`, code: status.code, error: status.details });
          callback(status as grpc.ServiceError, null);
        }
      })();
    };
  }
  return out;
}
