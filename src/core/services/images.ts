/**
 * The Images service: the image table (Get/List/Create/Update/Delete),
 * Docker's tag/rm/inspect/history/prune, and Pull/Push streaming their
 * progress. Pull and Push reach registries through the distribution client
 * with the core's settings (insecure registries; credentials from the
 * request, else Docker's config.json).
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../../common/errors.js';
import type {
  CommitImageRequest, CommitImageResponse, DataChunk, DescriptorMessage, ExportContainerRequest, Image, ImportImageRequest, ImportImageResponse, LoadImagesRequest, LoadImagesResponse,
  PullProgress, PullRequest, PushProgress, PushRequest, SaveImagesRequest,
} from '../api/types.js';
import { toTimestamp } from '../api/types.js';
import type { ContentStore } from '../content/types.js';
import { parsePlatform } from '../distribution/platform.js';
import { formatReference, parseReference, type Reference } from '../distribution/reference.js';
import type { GcReport } from '../gc/collect.js';
import { loadArchive } from '../images/archive/load.js';
import { saveImages } from '../images/archive/save.js';
import { exportDirectory, exportSnapshot } from '../images/export.js';
import { commitContainer } from '../images/commit.js';
import type { DockerConfig } from '../images/commit-config.js';
import { importRootfs } from '../images/import.js';
import { imageHistory } from '../images/history.js';
import { inspectImage, repoNames } from '../images/inspect.js';
import { unpackedSizes, type LayerSizes } from '../images/layer-sizes.js';
import { pruneImages, removeImage, tagImage, type ManageDeps } from '../images/manage.js';
import { pull } from '../images/pull.js';
import { push } from '../images/push.js';
import { openRemote, type RemoteHandle } from '../images/registry.js';
import { findImages, normalName, resolveImage } from '../images/resolve.js';
import type { ImageRecord, ImageStore } from '../images/types.js';
import type { LeaseManager } from '../leases/types.js';
import type { Platform } from '../oci/types.js';
import type { Snapshotter } from '../snapshots/types.js';
import type { Logger } from '../../common/log.js';
import { toStatus } from '../errors.js';
import { namespaceOf, unaryHandlers, type ServiceContext, type UnaryHandlers } from './context.js';

/** What the image half's services share, opened by server.ts. */
export interface ImageContext {
  ctx: ServiceContext;
  content: ContentStore;
  leases: LeaseManager;
  images: ImageStore;
  /** each layer's unpacked size, by diff ID */
  layerSizes: LayerSizes;
  snapshotters: ReadonlyMap<string, Snapshotter>;
  /** the snapshotter used when a call names none */
  defaultSnapshotter: string;
  /** garbage collection (serialised by the collector) */
  collect(): Promise<GcReport>;
}

/**
 * Ends a call with the error's status; one log line. A server stream ends by
 * emitting 'error' (grpc-js then sends the status as trailers: destroying it
 * would leave the client waiting); a client stream's call is given as
 * `{ destroy }` around its callback.
 */
export function streamFailed(call: { emit(event: 'error', err: Error): boolean } | { destroy(err: Error): void }, err: unknown, log: Logger, method: string): void {
  const status = toStatus(err);
  log.debug('call failed', { method, code: status.code, error: status.details });
  const e = Object.assign(new Error(status.details ?? 'failed'), status);
  if ('emit' in call) call.emit('error', e); else call.destroy(e);
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

export function snapshotterOf(ic: ImageContext, name: string): Snapshotter {
  const chosen = name === '' ? ic.defaultSnapshotter : name;
  const sn = ic.snapshotters.get(chosen);
  if (!sn) throw invalidArgument(`unknown snapshotter ${chosen} (available: ${[...ic.snapshotters.keys()].join(', ')})`);
  return sn;
}

const descriptorMessage = (d: ImageRecord['target']): DescriptorMessage => ({
  mediaType: d.mediaType, digest: d.digest, size: String(d.size), annotations: d.annotations ?? {},
});

export const imageMessage = (r: ImageRecord): Image => ({
  name: r.name, labels: r.labels, target: descriptorMessage(r.target), createdAt: toTimestamp(r.createdAt), updatedAt: toTimestamp(r.updatedAt),
});

function recordOf(ns: string, img: Image | null | undefined, what: string): Omit<ImageRecord, 'createdAt' | 'updatedAt'> {
  if (!img) throw invalidArgument(`cannot ${what} image: the request has no image`);
  const t = img.target;
  if (!t) throw invalidArgument(`cannot ${what} image ${img.name}: no target`);
  return { namespace: ns, name: img.name, target: { mediaType: t.mediaType, digest: t.digest, size: Number(t.size) }, labels: img.labels ?? {} };
}

/** What pull, load, import and commit store into. */
const buildDeps = (ic: ImageContext): { content: ContentStore; leases: LeaseManager; images: ImageStore; layerSizes: LayerSizes; log: Logger } => ({
  content: ic.content, leases: ic.leases, images: ic.images, layerSizes: ic.layerSizes, log: ic.ctx.log,
});

function manageDeps(ic: ImageContext): ManageDeps {
  return {
    content: ic.content, images: ic.images, platform: DEFAULT_PLATFORM,
    containerImages: (ns) => ic.ctx.store.containers.list(ns).map((c) => c.image),
  };
}

const credentialsOf = (username: string, password: string): { username: string; password: string } | undefined =>
  username !== '' ? { username, password } : undefined;

function unary(ic: ImageContext): UnaryHandlers<'Images'> {
  const { images, content } = ic;
  const sizeDeps = { content, layerSizes: ic.layerSizes, log: ic.ctx.log };
  const gcSoon = (): void => { ic.collect().catch((err: unknown) => ic.ctx.log.warn('gc after image removal failed', { error: (err as Error).message })); };
  return {
    Get: (req, call) => ({ image: imageMessage(images.get(call.namespace, req.name)) }),
    List: (req, call) => ({ images: images.list(call.namespace, req.filters ?? []).map(imageMessage) }),
    Create: (req, call) => {
      const created = images.create(recordOf(call.namespace, req.image, 'create'));
      ic.ctx.bus.publish(call.namespace, '/images/create', { name: created.name });
      return { image: imageMessage(created) };
    },
    Update: (req, call) => {
      const r = recordOf(call.namespace, req.image, 'update');
      const updated = images.update(call.namespace, r.name, { target: r.target, labels: r.labels }, req.updateMask ?? []);
      ic.ctx.bus.publish(call.namespace, '/images/update', { name: updated.name });
      return { image: imageMessage(updated) };
    },
    Delete: (req, call) => {
      images.delete(call.namespace, req.name);
      ic.ctx.bus.publish(call.namespace, '/images/delete', { name: req.name });
      return {};
    },
    Tag: async (req, call) => {
      const r = await tagImage(manageDeps(ic), call.namespace, req.source, req.target);
      ic.ctx.bus.publish(call.namespace, '/images/create', { name: r.name });
      return { image: imageMessage(r) };
    },
    Remove: async (req, call) => {
      const result = await removeImage(manageDeps(ic), call.namespace, req.ref, req.force);
      for (const n of result.untagged) ic.ctx.bus.publish(call.namespace, '/images/delete', { name: n });
      if (result.deleted.length > 0) gcSoon();
      return result;
    },
    Inspect: async (req, call) => {
      const { matches } = await findImages(content, images, call.namespace, req.ref, DEFAULT_PLATFORM);
      const id = matches[0]!.id;
      const all = [];
      for (const r of images.list(call.namespace)) {
        const img = await resolveImage(content, r, DEFAULT_PLATFORM).catch(() => undefined);
        if (img?.id === id) all.push(img);
      }
      const shown = all.length > 0 ? all : matches;
      const sizes = await unpackedSizes(sizeDeps, shown[0]!);
      return { json: Buffer.from(JSON.stringify(inspectImage(shown, ic.defaultSnapshotter, sizes))), layerSizes: sizes.map(String) };
    },
    History: async (req, call) => {
      const { matches } = await findImages(content, images, call.namespace, req.ref, DEFAULT_PLATFORM);
      const sizes = await unpackedSizes(sizeDeps, matches[0]!);
      return { json: Buffer.from(JSON.stringify(imageHistory(matches[0]!, repoNames(matches).tags, sizes))) };
    },
    Prune: async (req, call) => {
      const deleted = await pruneImages(manageDeps(ic), call.namespace, req.all);
      if (deleted.length > 0) gcSoon();
      return { deleted };
    },
  };
}

function pullHandler(ic: ImageContext) {
  return (call: grpc.ServerWritableStream<PullRequest, PullProgress>): void => {
    void (async () => {
      const req = call.request;
      const ns = namespaceOf(call.metadata);
      const ref = parseReference(req.ref);
      const platform = req.platform === '' ? DEFAULT_PLATFORM : parsePlatform(req.platform);
      const remote = openRemote(ref, { insecureRegistries: ic.ctx.config.insecureRegistries }, credentialsOf(req.username, req.password));
      try {
        const record = await pull(buildDeps(ic), remote, ref, {
          namespace: ns, platform, snapshotter: req.unpack ? snapshotterOf(ic, req.snapshotter) : undefined,
          progress: (e) => { if (!call.cancelled) call.write({ ...e, current: String(e.current), total: String(e.total), image: null }); },
        });
        ic.ctx.bus.publish(ns, '/images/create', { name: record.name });
        call.write({ digest: record.target.digest, status: 'stored', current: '0', total: '0', mediaType: record.target.mediaType, image: imageMessage(record) });
        call.end();
      } finally {
        remote.close();
      }
    })().catch((err: unknown) => streamFailed(call, err, ic.ctx.log, 'Images.Pull'));
  };
}

function pushHandler(ic: ImageContext) {
  return (call: grpc.ServerWritableStream<PushRequest, PushProgress>): void => {
    void (async () => {
      const req = call.request;
      const ns = namespaceOf(call.metadata);
      const name = normalName(req.name);
      const record = name !== undefined ? ic.images.find(ns, name) : undefined;
      const local = record ?? (await findImages(ic.content, ic.images, ns, req.name, DEFAULT_PLATFORM)).matches[0]!.record;
      const ref = parseReference(req.ref === '' ? local.name : req.ref);
      const remote = openRemote(ref, { insecureRegistries: ic.ctx.config.insecureRegistries }, credentialsOf(req.username, req.password));
      try {
        await push(ic.content, remote, ref, local.target, {
          namespace: ns,
          progress: (e) => { if (!call.cancelled) call.write({ ...e, current: String(e.current), total: String(e.total) }); },
        });
        ic.ctx.bus.publish(ns, '/images/push', { name: local.name, ref: formatReference(ref) });
        call.end();
      } finally {
        remote.close();
      }
    })().catch((err: unknown) => streamFailed(call, err, ic.ctx.log, 'Images.Push'));
  };
}

/** Chunks sent on a tar stream: small tar pieces are gathered up to this size. */
const CHUNK = 1 << 20;

/** Sends a byte stream as DataChunk messages, honouring the call's flow control; stops the source when the call is cancelled. */
async function sendStream(call: grpc.ServerWritableStream<unknown, DataChunk>, source: Readable): Promise<void> {
  call.on('cancelled', () => source.destroy());
  let parts: Buffer[] = [];
  let n = 0;
  const flush = async (): Promise<void> => {
    if (n === 0) return;
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    parts = [];
    n = 0;
    if (!call.write({ data })) await new Promise((r) => call.once('drain', r));
  };
  for await (const chunk of source as AsyncIterable<Buffer>) {
    parts.push(chunk);
    n += chunk.length;
    if (n >= CHUNK) await flush();
  }
  await flush();
  call.end();
}

/** The first message of a client stream (its options) and a byte stream of every message's data. */
async function clientBytes<M extends { data: Buffer }>(call: grpc.ServerReadableStream<M, unknown>): Promise<{ first: M; bytes: Readable }> {
  const it = (call as AsyncIterable<M>)[Symbol.asyncIterator]();
  const r = await it.next();
  if (r.done === true) throw invalidArgument('the request stream is empty');
  const first = r.value;
  async function* data(): AsyncGenerator<Buffer> {
    if (first.data.length > 0) yield first.data;
    for (;;) {
      const next = await it.next();
      if (next.done === true) return;
      if (next.value.data.length > 0) yield next.value.data;
    }
  }
  return { first, bytes: Readable.from(data(), { objectMode: false }) };
}

function saveHandler(ic: ImageContext) {
  return (call: grpc.ServerWritableStream<SaveImagesRequest, DataChunk>): void => {
    void (async () => {
      const req = call.request;
      const platform = req.platform === '' ? DEFAULT_PLATFORM : parsePlatform(req.platform);
      // a layer a pull skipped (its snapshot was here) and no stored blob holds is fetched from its registry
      const openSource = (ref: Reference): RemoteHandle => openRemote(ref, { insecureRegistries: ic.ctx.config.insecureRegistries });
      const tar = await saveImages(ic.content, ic.images, req.names ?? [], { namespace: namespaceOf(call.metadata), platform, openRemote: openSource });
      await sendStream(call, tar);
    })().catch((err: unknown) => streamFailed(call, err, ic.ctx.log, 'Images.Save'));
  };
}

function loadHandler(ic: ImageContext) {
  return (call: grpc.ServerReadableStream<LoadImagesRequest, LoadImagesResponse>, callback: grpc.sendUnaryData<LoadImagesResponse>): void => {
    void (async () => {
      const ns = namespaceOf(call.metadata);
      const { first, bytes } = await clientBytes(call);
      const records = await loadArchive(buildDeps(ic), bytes, {
        namespace: ns, platform: first.platform === '' ? DEFAULT_PLATFORM : parsePlatform(first.platform),
        snapshotter: first.contentOnly ? undefined : snapshotterOf(ic, first.snapshotter),
      });
      for (const r of records) ic.ctx.bus.publish(ns, '/images/create', { name: r.name });
      callback(null, { images: records.map(imageMessage) });
    })().catch((err: unknown) => streamFailed({ destroy: (e) => callback(e as grpc.ServiceError, null) }, err, ic.ctx.log, 'Images.Load'));
  };
}

function importHandler(ic: ImageContext) {
  return (call: grpc.ServerReadableStream<ImportImageRequest, ImportImageResponse>, callback: grpc.sendUnaryData<ImportImageResponse>): void => {
    void (async () => {
      const ns = namespaceOf(call.metadata);
      const { first, bytes } = await clientBytes(call);
      const record = await importRootfs(buildDeps(ic), bytes, {
        namespace: ns, name: first.name, changes: first.changes ?? [], message: first.message,
        snapshotter: first.contentOnly ? undefined : snapshotterOf(ic, first.snapshotter),
      });
      ic.ctx.bus.publish(ns, '/images/create', { name: record.name });
      callback(null, { image: imageMessage(record) });
    })().catch((err: unknown) => streamFailed({ destroy: (e) => callback(e as grpc.ServiceError, null) }, err, ic.ctx.log, 'Images.Import'));
  };
}

/** A JSON object field of a request; empty bytes: undefined. */
function jsonField(bytes: Buffer | undefined, what: string): DockerConfig | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  let v: unknown;
  try { v = JSON.parse(bytes.toString('utf8')); } catch { throw invalidArgument(`${what} is not valid JSON`); }
  if (v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`${what} is not a JSON object`);
  return v as DockerConfig;
}

function commitHandler(ic: ImageContext) {
  return (call: grpc.ServerReadableStream<CommitImageRequest, CommitImageResponse>, callback: grpc.sendUnaryData<CommitImageResponse>): void => {
    void (async () => {
      const ns = namespaceOf(call.metadata);
      const { first, bytes } = await clientBytes(call);
      const record = await commitContainer(buildDeps(ic), bytes, {
        namespace: ns, parent: first.parent, name: first.name, config: jsonField(first.config, 'the config') ?? {}, changes: first.changes ?? [],
        defaults: jsonField(first.defaults, 'the defaults'), author: first.author, comment: first.comment, createdBy: first.createdBy,
        container: first.container, containerConfig: jsonField(first.containerConfig, 'the container config'),
        snapshotter: snapshotterOf(ic, first.snapshotter), platform: DEFAULT_PLATFORM,
      });
      ic.ctx.bus.publish(ns, '/images/create', { name: record.name });
      callback(null, { image: imageMessage(record) });
    })().catch((err: unknown) => streamFailed({ destroy: (e) => callback(e as grpc.ServiceError, null) }, err, ic.ctx.log, 'Images.Commit'));
  };
}

function exportHandler(ic: ImageContext) {
  return (call: grpc.ServerWritableStream<ExportContainerRequest, DataChunk>): void => {
    void (async () => {
      const ns = namespaceOf(call.metadata);
      const c = ic.ctx.store.containers.get(ns, call.request.id);
      const what = `container ${c.id}`;
      let tar: Readable;
      if (c.snapshotKey !== '') tar = exportSnapshot(snapshotterOf(ic, c.snapshotter), ns, c.snapshotKey, join(ic.ctx.config.root, 'tmp'), what);
      else if (c.rootfs !== '') tar = exportDirectory(c.rootfs, what);
      else throw invalidArgument(`cannot export ${what}: it has neither a snapshot nor a rootfs`);
      await sendStream(call, tar);
    })().catch((err: unknown) => streamFailed(call, err, ic.ctx.log, 'Images.ExportContainer'));
  };
}

export function imagesService(ic: ImageContext): grpc.UntypedServiceImplementation {
  return {
    ...unaryHandlers('Images', unary(ic), ic.ctx.log),
    Pull: pullHandler(ic) as grpc.handleServerStreamingCall<unknown, unknown>,
    Push: pushHandler(ic) as grpc.handleServerStreamingCall<unknown, unknown>,
    Save: saveHandler(ic) as grpc.handleServerStreamingCall<unknown, unknown>,
    Load: loadHandler(ic) as grpc.handleClientStreamingCall<unknown, unknown>,
    Import: importHandler(ic) as grpc.handleClientStreamingCall<unknown, unknown>,
    ExportContainer: exportHandler(ic) as grpc.handleServerStreamingCall<unknown, unknown>,
    Commit: commitHandler(ic) as grpc.handleClientStreamingCall<unknown, unknown>,
  };
}
