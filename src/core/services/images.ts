/**
 * The Images service: the image table (Get/List/Create/Update/Delete),
 * Docker's tag/rm/inspect/history/prune, and Pull/Push streaming their
 * progress. Pull and Push reach registries through the distribution client
 * with the core's settings (insecure registries; credentials from the
 * request, else Docker's config.json).
 */
import type * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../../common/errors.js';
import type { DescriptorMessage, Image, PullProgress, PullRequest, PushProgress, PushRequest } from '../api/types.js';
import { toTimestamp } from '../api/types.js';
import type { ContentStore } from '../content/types.js';
import { parsePlatform } from '../distribution/platform.js';
import { formatReference, parseReference } from '../distribution/reference.js';
import type { GcReport } from '../gc/collect.js';
import { imageHistory } from '../images/history.js';
import { inspectImage, repoNames } from '../images/inspect.js';
import { pruneImages, removeImage, tagImage, type ManageDeps } from '../images/manage.js';
import { pull } from '../images/pull.js';
import { push } from '../images/push.js';
import { openRemote } from '../images/registry.js';
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
  snapshotters: ReadonlyMap<string, Snapshotter>;
  /** the snapshotter used when a call names none */
  defaultSnapshotter: string;
  /** garbage collection (serialised by the collector) */
  collect(): Promise<GcReport>;
}

/** Ends a server stream (or a client stream's call) with the error's status; one log line. */
export function streamFailed(call: { destroy(err: Error): void }, err: unknown, log: Logger, method: string): void {
  const status = toStatus(err);
  log.debug('call failed', { method, code: status.code, error: status.details });
  call.destroy(Object.assign(new Error(status.details ?? 'failed'), status));
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
      return { json: Buffer.from(JSON.stringify(inspectImage(all.length > 0 ? all : matches, ic.defaultSnapshotter))) };
    },
    History: async (req, call) => {
      const { matches } = await findImages(content, images, call.namespace, req.ref, DEFAULT_PLATFORM);
      return { json: Buffer.from(JSON.stringify(imageHistory(matches[0]!, repoNames(matches).tags))) };
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
        const record = await pull({ content: ic.content, leases: ic.leases, images: ic.images, log: ic.ctx.log }, remote, ref, {
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

export function imagesService(ic: ImageContext): grpc.UntypedServiceImplementation {
  return {
    ...unaryHandlers('Images', unary(ic), ic.ctx.log),
    Pull: pullHandler(ic) as grpc.handleServerStreamingCall<unknown, unknown>,
    Push: pushHandler(ic) as grpc.handleServerStreamingCall<unknown, unknown>,
  };
}
