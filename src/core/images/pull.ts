/**
 * Pull: resolve a reference, fetch the index/manifest (the platform's
 * manifest from an index), the config and the layers — three at a time —
 * and unpack the layers into snapshots named by chain ID.
 *
 * Each layer is downloaded once. The layer whose parent snapshot is already
 * committed when its download starts is streamed through the content writer
 * (digest check) and, in the same pass, decompressed and applied into an
 * active snapshot. A layer that starts while its parent is still being
 * unpacked streams in one pass as well when the layers still in progress
 * below it are smaller than it (its download starts at once and runs a few
 * pieces ahead, its unpacking waits for the parent); otherwise it is downloaded
 * into the content store at once and applied from there once its parent is
 * committed (layers must be applied in order).
 * A layer whose chain ID snapshot exists already is neither downloaded nor
 * unpacked. Everything is held by a lease until the image record is
 * written; a failed pull leaves no image record, removes its partial
 * downloads (ingests), and what it fetched is garbage once the lease is
 * gone. The lease of a pull that died with its core is released by the next
 * pull in that namespace.
 */
import { randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { BerthError, failedPrecondition, invalidArgument } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { GC_REF_CONTENT_PREFIX, GC_REF_SNAPSHOT_PREFIX, type ContentStore } from '../content/types.js';
import { selectManifest } from '../distribution/platform.js';
import { formatReference, type Reference } from '../distribution/reference.js';
import type { LeaseManager } from '../leases/types.js';
import {
  isIndexMediaType, isManifestMediaType, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform,
} from '../oci/types.js';
import { SNAPSHOT_DIFF_ID_LABEL, type Snapshotter } from '../snapshots/types.js';
import { applyLayer, layerSizeLimit } from '../unpack/apply.js';
import { copyBlob, fetchSmallBlob } from './blobs.js';
import { chainIds } from './chainid.js';
import type { LayerSizes } from './layer-sizes.js';
import { runLimited } from './limit.js';
import { SOURCE_LABEL_PREFIX, type Remote } from './remote.js';
import type { ImageRecord, ImageStore } from './types.js';

export type PullStatus = 'resolving' | 'resolved' | 'waiting' | 'downloading' | 'unpacking' | 'done' | 'exists' | 'error';

export interface PullEvent {
  /** "" for the image as a whole */
  digest: string;
  status: PullStatus;
  current: number;
  total: number;
  mediaType: string;
}

export interface PullDeps {
  content: ContentStore;
  leases: LeaseManager;
  images: ImageStore;
  /** where each unpacked layer's size is recorded */
  layerSizes: LayerSizes;
  log?: Logger;
}

export interface PullOptions {
  namespace: string;
  platform: Platform;
  /** where to unpack; undefined: fetch the content only */
  snapshotter?: Snapshotter;
  progress?: (e: PullEvent) => void;
  /** layers downloaded at once (3) */
  concurrency?: number;
}

/** How long a pull's lease lives if the core dies mid-pull (gc takes what it held after that). */
const LEASE_TTL_MS = 60 * 60 * 1000;
const PROGRESS_EVERY_MS = 100;
/**
 * A registry's blob body arrives in 64 KiB socket reads, and each piece costs
 * a content write (a thread-pool round trip, awaited) before the unpacker
 * sees it: a profile of a 200 MB pull spent a quarter of its main-thread
 * time issuing those writes. Pieces of 1 MiB cut them 16-fold; a cut
 * download still resumes from the bytes written.
 */
const BLOB_PIECE = 1 << 20;
/** Pieces the tee between a download and its unpacker holds: the download runs this far ahead. */
const TEE_PIECES = 8;

/** remote, with blob bodies delivered in pieces of BLOB_PIECE bytes. */
function inPieces(remote: Remote): Remote {
  return {
    domain: remote.domain,
    resolve: (ref) => remote.resolve(ref),
    fetchManifest: (repo, desc) => remote.fetchManifest(repo, desc),
    fetchBlob: async (repo, desc, offset) => Readable.from(piecesKeepingPartial(await remote.fetchBlob(repo, desc, offset), BLOB_PIECE)),
    blobExists: (repo, desc) => remote.blobExists(repo, desc),
    mountBlob: (repo, from, desc) => remote.mountBlob(repo, from, desc),
    uploadBlob: (repo, desc, body) => remote.uploadBlob(repo, desc, body),
    putManifest: (repo, selector, mediaType, body) => remote.putManifest(repo, selector, mediaType, body),
  };
}

/**
 * src in pieces of at least min bytes; when src fails, the bytes received
 * since the last piece are delivered before the error, so a download cut
 * more often than every piece still advances and resumes from them.
 */
async function* piecesKeepingPartial(src: AsyncIterable<Buffer>, min: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  const take = (): Buffer => {
    const piece = parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
    parts = [];
    n = 0;
    return piece;
  };
  try {
    for await (const chunk of src) {
      parts.push(chunk);
      n += chunk.length;
      if (n >= min) yield take();
    }
  } catch (err) {
    if (n > 0) yield take();
    throw err;
  }
  if (n > 0) yield take();
}

interface Deferred { promise: Promise<void>; resolve(): void; reject(err: unknown): void; settled: boolean }

function deferred(): Deferred {
  const d = { settled: false } as Deferred;
  d.promise = new Promise<void>((res, rej) => {
    d.resolve = () => { d.settled = true; res(); };
    d.reject = (err) => { d.settled = true; rej(err); };
  });
  d.promise.catch(() => undefined); // observed by the children that wait on it
  return d;
}

/**
 * An image config is JSON read whole into memory: Docker's largest real ones
 * are well under 1 MiB; 8 MiB leaves room and refuses a config made to
 * exhaust memory.
 */
const MAX_CONFIG_BYTES = 8 << 20;
/**
 * Layers one manifest may list: overlay mounts a layer per lower directory
 * and Docker refuses images deeper than 128 layers, so no image that works
 * elsewhere has more; a manifest of ten thousand would cost as many
 * snapshots (and requests) before anything could fail.
 */
const MAX_LAYERS = 128;
/** The content store addresses blobs by sha256 only; any other algorithm (sha512:, md5:) is refused before a fetch. */
const SHA256 = /^sha256:[0-9a-f]{64}$/;

/** A descriptor's digest and size, checked before anything is fetched by it. */
function checkDescriptor(d: Descriptor | undefined, what: string, maxSize: number): void {
  if (!d || typeof d.digest !== 'string') throw invalidArgument(`${what} has no digest`);
  if (!SHA256.test(d.digest)) throw invalidArgument(`${what} has digest ${JSON.stringify(d.digest.slice(0, 80))}: only sha256 digests are supported`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalidArgument(`${what} ${d.digest} has an invalid size ${JSON.stringify(d.size)}`);
  if (d.size > maxSize) throw invalidArgument(`${what} ${d.digest} of ${d.size} bytes is larger than the ${maxSize} allowed`);
}

/** The manifest's config and layers, checked: count, digests, sizes. */
function checkManifest(m: ImageManifest, digest: string, name: string): void {
  if (!m.config || !Array.isArray(m.layers)) throw invalidArgument(`cannot pull ${name}: manifest ${digest} has no config or layers`);
  if (m.layers.length > MAX_LAYERS) throw invalidArgument(`cannot pull ${name}: manifest ${digest} lists ${m.layers.length} layers, more than the ${MAX_LAYERS} allowed`);
  checkDescriptor(m.config, `cannot pull ${name}: config`, MAX_CONFIG_BYTES);
  m.layers.forEach((l, i) => checkDescriptor(l, `cannot pull ${name}: layer ${i}`, layerSizeLimit()));
}

function parseJson<T>(body: Buffer, what: string): T {
  try { return JSON.parse(body.toString('utf8')) as T; } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

class PullRun {
  private readonly ns: string;
  private readonly leaseId: string;
  /** ingest refs this pull writes: removed when it fails */
  private readonly ingests = new Set<string>();
  private readonly repo: string;
  /** active snapshots this pull prepared and has not committed: removed on failure */
  private readonly active = new Map<string, Snapshotter>();
  /** the manifest's layers, once known */
  private manifestLayers: Descriptor[] = [];

  constructor(private readonly deps: PullDeps, private readonly remote: Remote, private readonly ref: Reference, private readonly opts: PullOptions) {
    this.ns = opts.namespace;
    this.repo = ref.path;
    releaseDeadPulls(deps, this.ns);
    this.leaseId = deps.leases.create(this.ns, undefined, { [PULL_LEASE_LABEL]: formatReference(ref), [PULL_CORE_LABEL]: CORE_INSTANCE }, Date.now() + LEASE_TTL_MS).id;
  }

  private emit(e: Partial<PullEvent> & { status: PullStatus }): void {
    this.opts.progress?.({ digest: '', current: 0, total: 0, mediaType: '', ...e });
  }

  private hold(type: string, id: string): void {
    this.deps.leases.addResource(this.ns, this.leaseId, { type, id });
  }

  private holdIngest(ref: string): void {
    this.hold('ingests', ref);
    this.ingests.add(ref);
  }

  /** A manifest or index: fetched (verified) and stored with its gc labels. */
  private async manifestBlob(desc: Descriptor, labels: (body: Buffer) => Record<string, string>): Promise<Buffer> {
    this.hold('content', desc.digest);
    const body = this.deps.content.has(this.ns, desc.digest)
      ? await this.deps.content.readBlob(this.ns, desc.digest)
      : await this.remote.fetchManifest(this.repo, desc);
    await this.deps.content.writeBlob(this.ns, body, desc.digest, labels(body));
    return body;
  }

  async run(): Promise<ImageRecord> {
    const name = formatReference(this.ref);
    this.emit({ status: 'resolving' });
    const target = await this.remote.resolve(this.ref);
    this.emit({ status: 'resolved', digest: target.digest, mediaType: target.mediaType, total: target.size });
    const manifestDesc = await this.selectManifest(target, name);
    const manifest = parseJson<ImageManifest>(await this.manifestBlob(manifestDesc, (b) => {
      // checked before it is stored: a manifest of ten thousand layers would be ten thousand labels
      const m = parseJson<ImageManifest>(b, `manifest ${manifestDesc.digest}`);
      checkManifest(m, manifestDesc.digest, name);
      return manifestLabels(m);
    }), `manifest ${manifestDesc.digest}`);
    checkManifest(manifest, manifestDesc.digest, name);
    const config = await this.config(manifest.config, name);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw failedPrecondition(`cannot pull ${name}: the config lists ${diffIds.length} diff ids for ${manifest.layers.length} layers`);
    }
    const chain = chainIds(diffIds);
    await this.layers(manifest.layers, diffIds, chain);
    const sn = this.opts.snapshotter;
    if (sn && chain.length > 0) {
      this.deps.content.update(this.ns, manifest.config.digest, { [`${GC_REF_SNAPSHOT_PREFIX}${sn.name}`]: chain.at(-1)! }, [`labels.${GC_REF_SNAPSHOT_PREFIX}${sn.name}`]);
    }
    const record = this.deps.images.put({ namespace: this.ns, name, target: { mediaType: target.mediaType, digest: target.digest, size: target.size }, labels: {} });
    this.emit({ status: 'done', digest: target.digest, mediaType: target.mediaType, total: target.size, current: target.size });
    return record;
  }

  private async selectManifest(target: Descriptor, name: string): Promise<Descriptor> {
    if (isManifestMediaType(target.mediaType)) return target;
    if (!isIndexMediaType(target.mediaType)) throw invalidArgument(`cannot pull ${name}: unsupported media type ${target.mediaType}`);
    let chosen: Descriptor | undefined;
    await this.manifestBlob(target, (b) => {
      const index = parseJson<ImageIndex>(b, `index ${target.digest}`);
      if (!Array.isArray(index.manifests)) throw invalidArgument(`cannot pull ${name}: index ${target.digest} has no manifests`);
      chosen = selectManifest(index, this.opts.platform, name);
      checkDescriptor(chosen, `cannot pull ${name}: manifest`, Number.MAX_SAFE_INTEGER);
      const i = index.manifests.findIndex((d) => d.digest === chosen!.digest);
      return { [`${GC_REF_CONTENT_PREFIX}m.${i}`]: chosen.digest };
    });
    return chosen!;
  }

  private async config(desc: Descriptor, name: string): Promise<ImageConfig> {
    this.hold('content', desc.digest);
    const body = this.deps.content.has(this.ns, desc.digest)
      ? await this.deps.content.readBlob(this.ns, desc.digest)
      : await fetchSmallBlob(this.remote, this.repo, desc, MAX_CONFIG_BYTES);
    await this.deps.content.writeBlob(this.ns, body, desc.digest);
    const config = parseJson<ImageConfig>(body, `config ${desc.digest}`);
    if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw invalidArgument(`cannot pull ${name}: config ${desc.digest} has no rootfs.diff_ids`);
    return config;
  }

  private async layers(layers: Descriptor[], diffIds: string[], chain: string[]): Promise<void> {
    this.manifestLayers = layers;
    const committed = layers.map(() => deferred());
    for (const l of layers) this.emit({ status: 'waiting', digest: l.digest, total: l.size, mediaType: l.mediaType });
    const jobs = layers.map((l, i) => async () => {
      try {
        await this.layer(l, i, diffIds[i]!, chain, committed);
        committed[i]!.resolve();
      } catch (err) {
        committed[i]!.reject(err);
        throw err;
      }
    });
    await runLimited(this.opts.concurrency ?? 3, jobs);
  }

  private snapshotExists(sn: Snapshotter, key: string): boolean {
    try { sn.stat(this.ns, key); return true; } catch (err) {
      if (err instanceof BerthError && err.kind === 'not-found') return false;
      throw err;
    }
  }

  private progress(desc: Descriptor): (current: number) => void {
    let last = 0;
    return (current) => {
      const now = Date.now();
      if (now - last < PROGRESS_EVERY_MS && current < desc.size) return;
      last = now;
      this.emit({ status: 'downloading', digest: desc.digest, current, total: desc.size, mediaType: desc.mediaType });
    };
  }

  private blobLabels(): Record<string, string> {
    return { [`${SOURCE_LABEL_PREFIX}${this.remote.domain}`]: this.repo };
  }

  private async layer(desc: Descriptor, i: number, diffId: string, chain: string[], committed: Deferred[]): Promise<void> {
    const sn = this.opts.snapshotter;
    const { content } = this.deps;
    this.hold('content', desc.digest);
    this.holdIngest(`fetch-${desc.digest}`);
    const done = (status: PullStatus): void => this.emit({ status, digest: desc.digest, current: desc.size, total: desc.size, mediaType: desc.mediaType });
    if (!sn) {
      if (content.has(this.ns, desc.digest)) { done('exists'); return; }
      await copyBlob(content, this.remote, this.repo, desc, { namespace: this.ns, labels: this.blobLabels(), onProgress: this.progress(desc) });
      done('done');
      return;
    }
    const chainId = chain[i]!;
    const parent = i === 0 ? '' : chain[i - 1]!;
    this.hold(`snapshots/${sn.name}`, chainId);
    if (this.snapshotExists(sn, chainId)) { done('exists'); return; }
    const parentReady = i === 0 || committed[i - 1]!.settled;
    if (!content.has(this.ns, desc.digest) && (parentReady || smallBelow(this.manifestLayers, i, committed))) {
      // download and unpack in one pass; the download starts now, the unpacking once the parent is committed
      const applied = await this.unpack(sn, desc, diffId, chainId, parent, (tee) => copyBlob(content, this.remote, this.repo, desc,
        { namespace: this.ns, labels: this.blobLabels(), tee, onProgress: this.progress(desc) }), parentReady ? undefined : committed[i - 1]!.promise);
      done(applied ? 'done' : 'exists');
      return;
    }
    if (!content.has(this.ns, desc.digest)) {
      await copyBlob(content, this.remote, this.repo, desc, { namespace: this.ns, labels: this.blobLabels(), onProgress: this.progress(desc) });
    }
    if (i > 0) await committed[i - 1]!.promise;
    if (this.snapshotExists(sn, chainId)) { done('exists'); return; }
    await this.unpack(sn, desc, diffId, chainId, parent, async (tee) => {
      const r = content.reader(this.ns, desc.digest);
      r.on('error', (err) => tee.destroy(err));
      r.pipe(tee);
    });
    done('done');
  }

  /**
   * Applies the layer fed by `source` into a new active snapshot over parent
   * and commits it as chainId. With `parentCommitted`, the source starts at
   * once and fills the tee (and the socket's buffers) while the parent is
   * still being unpacked; the snapshot is prepared once the parent is
   * committed. False when another pull committed chainId meanwhile (the
   * blob is still stored, the bytes are not applied twice).
   */
  private async unpack(sn: Snapshotter, desc: Descriptor, diffId: string, chainId: string, parent: string, source: (tee: PassThrough) => Promise<void>, parentCommitted?: Promise<void>): Promise<boolean> {
    // room for several pieces, so the download runs ahead of the unpacker instead of in lockstep with it;
    // object mode hands the pieces on as they are (a byte stream would join what is buffered into one new buffer)
    const tee = new PassThrough({ objectMode: true, highWaterMark: TEE_PIECES });
    const fed = source(tee).catch((err: unknown) => { tee.destroy(err instanceof Error ? err : new Error(String(err))); throw err; });
    if (parentCommitted) {
      try {
        await parentCommitted;
      } catch (err) {
        tee.destroy(err instanceof Error ? err : new Error(String(err)));
        await fed.catch(() => undefined);
        throw err;
      }
      if (this.snapshotExists(sn, chainId)) {
        tee.resume(); // discarded: the blob is stored all the same
        await fed;
        return false;
      }
    }
    const key = `extract-${randomUUID()}`;
    this.hold(`snapshots/${sn.name}`, key);
    try {
      await sn.prepare(this.ns, key, parent, {});
    } catch (err) {
      tee.destroy(err instanceof Error ? err : new Error(String(err)));
      await fed.catch(() => undefined);
      throw err;
    }
    this.active.set(key, sn);
    const target = sn.applyTarget(this.ns, key);
    this.emit({ status: 'unpacking', digest: desc.digest, total: desc.size, mediaType: desc.mediaType });
    const applied = applyLayer(tee, { mediaType: desc.mediaType, dir: target.dir, whiteouts: target.whiteouts, digest: desc.digest });
    // a refused layer stops the download too
    applied.catch((err: unknown) => { if (!tee.destroyed) tee.destroy(err instanceof Error ? err : new Error(String(err))); });
    const [feedResult, applyResult] = await Promise.allSettled([fed, applied]);
    // when both failed, the cause is the one that is not just "the other side stopped" (an unpacker
    // that hit a full disk makes the download fail with no reason of its own)
    if (feedResult.status === 'rejected' && applyResult.status === 'rejected' && /the unpacker stopped reading/.test(String((feedResult.reason as Error)?.message))) throw applyResult.reason;
    if (feedResult.status === 'rejected') throw feedResult.reason;
    if (applyResult.status === 'rejected') throw applyResult.reason;
    const got = applyResult.value.diffId;
    if (got !== diffId) throw failedPrecondition(`layer ${desc.digest}: uncompressed digest ${got} does not match the config's diff id ${diffId}`);
    this.deps.layerSizes.record(diffId, applyResult.value.unpackedSize);
    try {
      await sn.commit(this.ns, chainId, key, { [SNAPSHOT_DIFF_ID_LABEL]: diffId });
      this.active.delete(key);
    } catch (err) {
      // another pull committed the same chain first: theirs is as good
      if (!(err instanceof BerthError && err.kind === 'already-exists')) throw err;
    }
    return true;
  }

  async cleanup(failed: boolean): Promise<void> {
    // the ingests first: on a full disk their bytes make room for the metadata writes below
    if (failed) for (const ref of this.ingests) this.dropIngest(ref);
    for (const [key, sn] of this.active) {
      await sn.remove(this.ns, key).catch((err: unknown) => this.deps.log?.warn('cannot remove a pull\'s active snapshot', { key, error: (err as Error).message }));
    }
    this.active.clear();
    if (failed) this.emit({ status: 'error' });
    try { this.deps.leases.delete(this.ns, this.leaseId); } catch { /* expired or gone */ }
  }

  /**
   * A failed pull's partial download: once the lease is gone nothing would
   * resume it, so it goes now rather than after gc's idle delay. One that a
   * concurrent pull is writing (locked) is that pull's to keep.
   */
  private dropIngest(ref: string): void {
    try { this.deps.content.abort(this.ns, ref); } catch (err) {
      if (err instanceof BerthError && (err.kind === 'not-found' || err.kind === 'unavailable')) return;
      this.deps.log?.warn('cannot remove a failed pull\'s ingest', { ref, error: (err as Error).message });
    }
  }
}

/**
 * Whether layer i should wait for its parent's commit and then stream in one
 * pass, rather than download into the store now and be read back and
 * unpacked after its parent: yes when the layers below it still in progress
 * are smaller than it. Waiting then costs less than the second pass over its
 * bytes; an image whose large layer sits on a small base (busybox + 200 MB)
 * spent half its pull re-reading that layer from the store.
 */
function smallBelow(layers: Descriptor[], i: number, committed: Deferred[]): boolean {
  let pending = 0;
  for (let j = 0; j < i; j++) if (!committed[j]!.settled) pending += layers[j]!.size;
  return pending < layers[i]!.size;
}

function manifestLabels(m: ImageManifest): Record<string, string> {
  const labels: Record<string, string> = {};
  if (m.config?.digest) labels[`${GC_REF_CONTENT_PREFIX}config`] = m.config.digest;
  (m.layers ?? []).forEach((l, i) => { labels[`${GC_REF_CONTENT_PREFIX}l.${i}`] = l.digest; });
  return labels;
}

const PULL_LEASE_LABEL = 'berth.lease.pull';
/** The core process whose pull holds the lease: a lease of another process is a pull that died with its core. */
const PULL_CORE_LABEL = 'berth.lease.pull.core';
const CORE_INSTANCE = randomUUID();

/**
 * Deletes the leases of pulls a previous core process left behind (killed
 * mid-pull), so what they held is garbage now rather than after
 * LEASE_TTL_MS: no partial snapshot outlives a restart by an hour. Their
 * ingests stay, for a new pull of the same blob to take over.
 */
function releaseDeadPulls(deps: PullDeps, ns: string): void {
  for (const lease of deps.leases.list(ns)) {
    if (!(PULL_LEASE_LABEL in lease.labels) || lease.labels[PULL_CORE_LABEL] === CORE_INSTANCE) continue;
    try {
      deps.leases.delete(ns, lease.id);
      deps.log?.info('released the lease of a pull that died with an earlier core', { lease: lease.id, ref: lease.labels[PULL_LEASE_LABEL] });
    } catch { /* released by a concurrent pull */ }
  }
}

/** Pulls ref from remote into the namespace; resolves with the image record written last. */
export async function pull(deps: PullDeps, remote: Remote, ref: Reference, opts: PullOptions): Promise<ImageRecord> {
  const run = new PullRun(deps, inPieces(remote), ref, opts);
  let failed = true;
  try {
    const record = await run.run();
    failed = false;
    return record;
  } catch (err) {
    throw err instanceof BerthError ? new BerthError(err.kind, err.message.startsWith('cannot pull') ? err.message : `cannot pull ${formatReference(ref)}: ${err.message}`, { cause: err })
      : new BerthError('internal', `cannot pull ${formatReference(ref)}: ${(err as Error).message}`, { cause: err });
  } finally {
    await run.cleanup(failed);
  }
}
