/**
 * The Content service: the content store over the API. Read streams a blob
 * in 1 MiB chunks; Write is a client stream (first message names ref,
 * expected digest and size; the one with commit = true ends it).
 */
import type * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../../common/errors.js';
import type { ContentInfoMessage, IngestStatusMessage, ReadContentRequest, ReadContentResponse, WriteContentRequest, WriteContentResponse } from '../api/types.js';
import { toTimestamp } from '../api/types.js';
import type { ContentInfo, ContentWriter, IngestStatus } from '../content/types.js';
import { namespaceOf, unaryHandlers, type UnaryHandlers } from './context.js';
import { streamFailed, type ImageContext } from './images.js';

export const contentInfoMessage = (i: ContentInfo): ContentInfoMessage => ({
  digest: i.digest, size: String(i.size), labels: i.labels, createdAt: toTimestamp(i.createdAt), updatedAt: toTimestamp(i.updatedAt),
});

const statusMessage = (s: IngestStatus): IngestStatusMessage => ({
  ref: s.ref, offset: String(s.offset), total: String(s.total), expected: s.expected, startedAt: toTimestamp(s.startedAt), updatedAt: toTimestamp(s.updatedAt),
});

function unary(ic: ImageContext): UnaryHandlers<'Content'> {
  const { content } = ic;
  return {
    Info: (req, call) => ({ info: contentInfoMessage(content.info(call.namespace, req.digest)) }),
    Update: (req, call) => {
      if (!req.info) throw invalidArgument('cannot update content: the request has no info');
      return { info: contentInfoMessage(content.update(call.namespace, req.info.digest, req.info.labels ?? {}, req.updateMask ?? [])) };
    },
    List: (req, call) => ({ info: content.list(call.namespace, req.filters ?? []).map(contentInfoMessage) }),
    Delete: (req, call) => { content.delete(call.namespace, req.digest); return {}; },
    Status: (req, call) => ({ status: statusMessage(content.status(call.namespace, req.ref)) }),
    ListStatuses: (_req, call) => ({ statuses: content.listStatuses(call.namespace).map(statusMessage) }),
    Abort: (req, call) => { content.abort(call.namespace, req.ref); return {}; },
  };
}

function readHandler(ic: ImageContext) {
  return (call: grpc.ServerWritableStream<ReadContentRequest, ReadContentResponse>): void => {
    void (async () => {
      const ns = namespaceOf(call.metadata);
      let offset = Number(call.request.offset || '0');
      const reader = ic.content.reader(ns, call.request.digest, offset);
      call.on('cancelled', () => reader.destroy());
      for await (const chunk of reader as AsyncIterable<Buffer>) {
        if (!call.write({ offset: String(offset), data: chunk })) await new Promise((r) => call.once('drain', r));
        offset += chunk.length;
      }
      call.end();
    })().catch((err: unknown) => streamFailed(call, err, ic.ctx.log, 'Content.Read'));
  };
}

function writeHandler(ic: ImageContext) {
  return (call: grpc.ServerReadableStream<WriteContentRequest, WriteContentResponse>, callback: grpc.sendUnaryData<WriteContentResponse>): void => {
    void (async () => {
      const ns = namespaceOf(call.metadata);
      let w: ContentWriter | undefined;
      let committed: WriteContentResponse | undefined;
      try {
        for await (const m of call as AsyncIterable<WriteContentRequest>) {
          if (!w) {
            if (m.ref === '') throw invalidArgument('cannot write content: the first message names no ref');
            w = await ic.content.writer(ns, m.ref, { expected: m.expected || undefined, total: Number(m.total || '0') });
            if (Number(m.offset || '0') !== w.offset) throw invalidArgument(`cannot write content ${m.ref}: offset ${m.offset} is not the ingest's ${w.offset}`);
          }
          if (m.data.length > 0) await w.write(m.data);
          if (m.commit) {
            const info = await w.commit(Number(m.total || '0'), m.expected, m.labels ?? {});
            committed = { digest: info.digest, offset: String(info.size) };
            break;
          }
        }
        if (!committed) {
          const offset = w?.offset ?? 0;
          await w?.close();
          committed = { digest: '', offset: String(offset) };
        }
        callback(null, committed);
      } catch (err) {
        await w?.close().catch(() => undefined);
        throw err;
      }
    })().catch((err: unknown) => streamFailed({ destroy: (e) => callback(e as grpc.ServiceError, null) }, err, ic.ctx.log, 'Content.Write'));
  };
}

export function contentService(ic: ImageContext): grpc.UntypedServiceImplementation {
  return {
    ...unaryHandlers('Content', unary(ic), ic.ctx.log),
    Read: readHandler(ic) as grpc.handleServerStreamingCall<unknown, unknown>,
    Write: writeHandler(ic) as grpc.handleClientStreamingCall<unknown, unknown>,
  };
}
