/**
 * `commit`: a container's changes, an uncompressed layer tar the caller
 * made from its writable layer, become a new image on top of the image the
 * container was made from. The bytes pass once: gzip-compressed into the
 * content store (the layer blob, digest computed on the way) and, in the
 * same pass, unpacked over the parent's snapshot into the new chain's
 * snapshot (the diff ID computed by the unpacker). Everything is held by a
 * lease until the image record is written, so a failed commit leaves
 * nothing garbage collection keeps.
 */
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { BerthError, failedPrecondition } from '../../common/errors.js';
import { digestOf } from '../content/digest.js';
import { GC_REF_CONTENT_PREFIX, GC_REF_SNAPSHOT_PREFIX, type ContentStore, type ContentWriter } from '../content/types.js';
import { formatReference, parseReference } from '../distribution/reference.js';
import type { LeaseManager } from '../leases/types.js';
import { MediaType, type Descriptor, type ImageManifest, type Platform } from '../oci/types.js';
import { SNAPSHOT_DIFF_ID_LABEL, type Snapshotter } from '../snapshots/types.js';
import { applyLayer } from '../unpack/apply.js';
import { idName } from './archive/load.js';
import { chainId } from './chainid.js';
import { commitImageConfig, commitRuntimeConfig, type DockerConfig } from './commit-config.js';
import { findImages, type ResolvedImage } from './resolve.js';
import type { ImageRecord, ImageStore } from './types.js';

export interface CommitDeps { content: ContentStore; leases: LeaseManager; images: ImageStore }

export interface CommitOptions {
  namespace: string;
  /** the image the container was made from (an ID or a name) */
  parent: string;
  /** the new image's name; "" names it by its ID */
  name: string;
  config: DockerConfig;
  changes: readonly string[];
  defaults: DockerConfig | undefined;
  author: string;
  comment: string;
  createdBy: string;
  container: string;
  containerConfig: DockerConfig | undefined;
  snapshotter: Snapshotter;
  /** the parent's manifest, when it is an index */
  platform: Platform;
}

const LEASE_TTL_MS = 60 * 60 * 1000;

/** The diff ID of a tar with no entry (two zero blocks): a commit of no change adds no layer, as dockerd's. */
const EMPTY_TAR_DIFF_ID = `sha256:${createHash('sha256').update(Buffer.alloc(1024)).digest('hex')}`;

async function feed(w: Writable, chunk: Buffer): Promise<void> {
  if (w.destroyed) throw w.errored ?? new Error('the layer\'s reader stopped');
  if (!w.write(chunk)) await Promise.race([once(w, 'drain'), once(w, 'close')]);
}

const errorOf = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

class CommitRun {
  private readonly ns: string;
  private readonly leaseId: string;
  private extract: string | undefined;
  private ingest: string | undefined;

  constructor(private readonly deps: CommitDeps, private readonly opts: CommitOptions) {
    this.ns = opts.namespace;
    this.leaseId = deps.leases.create(this.ns, undefined, { 'berth.lease.commit': opts.name || opts.container }, Date.now() + LEASE_TTL_MS).id;
  }

  private hold(type: string, id: string): void { this.deps.leases.addResource(this.ns, this.leaseId, { type, id }); }

  /** The layer stored gzip-compressed and unpacked over parentChain; its descriptor (none for an empty layer) and diff ID. */
  private async layer(input: Readable, parentChain: string, mediaType: string): Promise<{ desc: Descriptor | undefined; diffId: string }> {
    const sn = this.opts.snapshotter;
    this.extract = `extract-${randomUUID()}`;
    this.hold(`snapshots/${sn.name}`, this.extract);
    await sn.prepare(this.ns, this.extract, parentChain, {});
    const target = sn.applyTarget(this.ns, this.extract);
    const tee = new PassThrough({ highWaterMark: 1 << 20 });
    const unpacked = applyLayer(tee, { mediaType: '', dir: target.dir, whiteouts: target.whiteouts, digest: 'of the committed layer' });
    unpacked.catch((err: unknown) => { if (!tee.destroyed) tee.destroy(errorOf(err)); });
    this.ingest = `commit-${randomUUID()}`;
    this.hold('ingests', this.ingest);
    const w: ContentWriter = await this.deps.content.writer(this.ns, this.ingest, {});
    const gzip = createGzip({ level: 6 });
    const hash = createHash('sha256');
    let size = 0;
    const stored = (async () => {
      for await (const chunk of gzip as AsyncIterable<Buffer>) { hash.update(chunk); size += chunk.length; await w.write(chunk); }
    })();
    const fed = (async () => {
      try {
        for await (const chunk of input as AsyncIterable<Buffer>) { await feed(gzip, chunk); await feed(tee, chunk); }
        gzip.end();
        tee.end();
      } catch (err) {
        gzip.destroy(errorOf(err));
        tee.destroy(errorOf(err));
        throw err;
      }
    })();
    const results = await Promise.allSettled([fed, stored, unpacked]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) { await w.close().catch(() => undefined); throw (failed as PromiseRejectedResult).reason; }
    const { diffId } = (results[2] as PromiseFulfilledResult<{ diffId: string }>).value;
    if (diffId === EMPTY_TAR_DIFF_ID) { await w.close().catch(() => undefined); return { desc: undefined, diffId }; }
    const digest = `sha256:${hash.digest('hex')}`;
    this.hold('content', digest);
    try {
      await w.commit(size, digest);
    } catch (err) {
      if (!(err instanceof BerthError && err.kind === 'already-exists')) throw err;
    }
    this.ingest = undefined;
    return { desc: { mediaType, digest, size }, diffId };
  }

  /** The new chain's snapshot: the extract committed (or the same tree committed before). */
  private async commitSnapshot(chain: string, diffId: string): Promise<void> {
    const sn = this.opts.snapshotter;
    this.hold(`snapshots/${sn.name}`, chain);
    try {
      await sn.commit(this.ns, chain, this.extract!, { [SNAPSHOT_DIFF_ID_LABEL]: diffId });
      this.extract = undefined;
    } catch (err) {
      if (!(err instanceof BerthError && err.kind === 'already-exists')) throw err;
    }
  }

  async run(input: Readable, parent: ResolvedImage): Promise<ImageRecord> {
    const { content } = this.deps;
    const o = this.opts;
    const runtime = commitRuntimeConfig(o.config, o.changes, o.defaults);
    const docker = parent.manifest.mediaType === MediaType.dockerManifest;
    const parentIds = parent.config.rootfs?.diff_ids ?? [];
    if (parentIds.length !== parent.manifest.layers.length) throw failedPrecondition(`image ${parent.id} lists ${parentIds.length} diff ids for ${parent.manifest.layers.length} layers`);
    const parentChain = parentIds.length > 0 ? chainId(parentIds) : '';
    const { desc: layer, diffId } = await this.layer(input, parentChain, docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip);
    const chain = layer ? chainId([...parentIds, diffId]) : parentChain;
    if (layer) await this.commitSnapshot(chain, diffId);
    const config = commitImageConfig(parent.config, runtime, layer ? diffId : undefined, {
      created: new Date().toISOString(), author: o.author, comment: o.comment, createdBy: o.createdBy, container: o.container, containerConfig: o.containerConfig,
    });
    const configBody = Buffer.from(JSON.stringify(config));
    const configDigest = digestOf(configBody);
    this.hold('content', configDigest);
    await content.writeBlob(this.ns, configBody, configDigest, { [`${GC_REF_SNAPSHOT_PREFIX}${o.snapshotter.name}`]: chain });
    const layers = layer ? [...parent.manifest.layers, layer] : [...parent.manifest.layers];
    const manifest: ImageManifest = {
      schemaVersion: 2, mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
      config: { mediaType: parent.manifest.config.mediaType, digest: configDigest, size: configBody.length }, layers,
    };
    const body = Buffer.from(JSON.stringify(manifest));
    const digest = digestOf(body);
    this.hold('content', digest);
    const refs: Record<string, string> = { [`${GC_REF_CONTENT_PREFIX}config`]: configDigest };
    layers.forEach((l, i) => { refs[`${GC_REF_CONTENT_PREFIX}l.${i}`] = l.digest; });
    await content.writeBlob(this.ns, body, digest, refs);
    const name = o.name === '' ? idName(configDigest) : formatReference(parseReference(o.name));
    return this.deps.images.put({ namespace: this.ns, name, target: { mediaType: manifest.mediaType!, digest, size: body.length }, labels: {} });
  }

  async cleanup(): Promise<void> {
    if (this.extract) await this.opts.snapshotter.remove(this.ns, this.extract).catch(() => undefined);
    if (this.ingest) { try { this.deps.content.abort(this.ns, this.ingest); } catch { /* gone */ } }
    try { this.deps.leases.delete(this.ns, this.leaseId); } catch { /* expired or gone */ }
  }
}

/** Commits a container's layer tar over its image; resolves with the new image's record. */
export async function commitContainer(deps: CommitDeps, input: Readable, opts: CommitOptions): Promise<ImageRecord> {
  const what = `container ${opts.container}`;
  let run: CommitRun | undefined;
  try {
    // refused before anything is made: a bad change line, a bad name, a parent gone
    commitRuntimeConfig(opts.config, opts.changes, opts.defaults);
    if (opts.name !== '') parseReference(opts.name);
    const { matches } = await findImages(deps.content, deps.images, opts.namespace, opts.parent, opts.platform);
    run = new CommitRun(deps, opts);
    return await run.run(input, matches[0]!);
  } catch (err) {
    input.destroy();
    // a refused change keeps dockerd's words alone (the CLI prints them as they are)
    if (err instanceof BerthError && run === undefined) throw err;
    if (err instanceof BerthError) throw new BerthError(err.kind, `cannot commit ${what}: ${err.message}`, { cause: err });
    throw new BerthError('internal', `cannot commit ${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    await run?.cleanup();
  }
}
