/**
 * The Events service: Publish posts into the core's bus in the caller's
 * namespace; Subscribe streams every later envelope passing the request's
 * filters until the caller cancels (or the server stops).
 */
import * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../../common/errors.js';
import type { Envelope, PublishRequest, SubscribeRequest } from '../api/types.js';
import { toTimestamp } from '../api/types.js';
import { isValidTopic, topicMatches, type EventEnvelope } from '../events.js';
import { checkIdentifier } from '../identifiers.js';
import type { ServiceContext, UnaryHandlers } from './context.js';
import { unaryHandlers } from './context.js';

export const envelopeMessage = (e: EventEnvelope): Envelope => ({
  timestamp: toTimestamp(e.timestamp), namespace: e.namespace, topic: e.topic, event: Buffer.from(JSON.stringify(e.event ?? null)),
});

function publishHandlers(ctx: ServiceContext): UnaryHandlers<'Events'> {
  return {
    Publish: (req: PublishRequest, call) => {
      if (!isValidTopic(req.topic)) throw invalidArgument(`cannot publish event: invalid topic ${JSON.stringify(req.topic)} (an absolute path such as /tasks/exit)`);
      let event: unknown = null;
      if (req.event && req.event.length > 0) {
        try { event = JSON.parse(req.event.toString('utf8')); } catch { throw invalidArgument(`cannot publish event ${req.topic}: event is not valid JSON`); }
      }
      ctx.bus.publish(call.namespace, req.topic, event);
      return {};
    },
  };
}

export function eventsService(ctx: ServiceContext): grpc.UntypedServiceImplementation {
  const unary = unaryHandlers('Events', publishHandlers(ctx), ctx.log);
  const subscribe = (call: grpc.ServerWritableStream<SubscribeRequest, Envelope>): void => {
    const topics = call.request.topics ?? [];
    const namespaces = call.request.namespaces ?? [];
    try {
      for (const n of namespaces) checkIdentifier('namespace', n);
      for (const t of topics) if (!topicMatches('/', t) && !t.startsWith('/')) throw invalidArgument(`cannot subscribe: topic filter ${JSON.stringify(t)} must start with /`);
    } catch (err) {
      call.destroy(Object.assign(new Error((err as Error).message), { code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message }));
      return;
    }
    const unsubscribe = ctx.bus.subscribe({ topics, namespaces }, (e) => { call.write(envelopeMessage(e)); }, () => { call.end(); });
    ctx.log.debug('events subscriber joined', { topics, namespaces });
    const done = (): void => { unsubscribe(); };
    call.on('cancelled', done);
    call.on('close', done);
    call.on('error', done);
  };
  return { ...unary, Subscribe: subscribe as grpc.handleServerStreamingCall<unknown, unknown> };
}
