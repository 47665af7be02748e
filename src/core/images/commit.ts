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
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { BerthError, failedPrecondition } from '../../common/errors.js';
import { GC_REF_CONTENT_PREFIX, GC_REF_SNAPSHOT_PREFIX, type ContentStore, type ContentWriter } from '../content/types.js';
import { formatReference, parseReference } from '../distribution/reference.js';
import type { LeaseManager } from '../leases/types.js';
import { MediaType, type Descriptor, type ImageManifest, type Platform } from '../oci/types.js';
import type { Snapshotter } from '../snapshots/types.js';
import { applyLayer } from '../unpack/apply.js';
import { idName } from './archive/load.js';
import { chainId } from './chainid.js';
import { commitImageConfig, commitRuntimeConfig, type DockerConfig } from './commit-config.js';
import type { LayerSizes } from './layer-sizes.js';
import { feed, LeasedBuild } from './leased-build.js';
import { findImages, type ResolvedImage } from './resolve.js';
import type { ImageRecord, ImageStore } from './types.js';

export interface CommitDeps { content: ContentStore; leases: LeaseManager; images: ImageStore; layerSizes: LayerSizes }

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

/** The diff ID of a tar with no entry (two zero blocks): a commit of no change adds no layer, as dockerd's. */
const EMPTY_TAR_DIFF_ID = `sha256:${createHash('sha256').update(Buffer.alloc(1024)).digest('hex')}`;

const errorOf = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

class CommitRun extends LeasedBuild {
  constructor(private readonly deps: CommitDeps, private readonly opts: CommitOptions) {
    super(deps, opts.namespace, { 'berth.lease.commit': opts.name || opts.container });
  }

  /** The layer stored gzip-compressed and unpacked over parentChain; its descriptor (none for an empty layer) and diff ID. */
  private async layer(input: Readable, parentChain: string, mediaType: string): Promise<{ desc: Descriptor | undefined; diffId: string; unpackedSize: number }> {
    const target = await this.prepareExtract(this.opts.snapshotter, parentChain);
    const tee = new PassThrough({ highWaterMark: 1 << 20 });
    const unpacked = applyLayer(tee, { mediaType: '', dir: target.dir, whiteouts: target.whiteouts, digest: 'of the committed layer' });
    unpacked.catch((err: unknown) => { if (!tee.destroyed) tee.destroy(errorOf(err)); });
    const w: ContentWriter = await this.openIngest('commit');
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
    const { diffId, unpackedSize } = (results[2] as PromiseFulfilledResult<{ diffId: string; unpackedSize: number }>).value;
    if (diffId === EMPTY_TAR_DIFF_ID) { await w.close().catch(() => undefined); return { desc: undefined, diffId, unpackedSize }; }
    const digest = `sha256:${hash.digest('hex')}`;
    await this.commitIngest(w, size, digest);
    return { desc: { mediaType, digest, size }, diffId, unpackedSize };
  }

  async run(input: Readable, parent: ResolvedImage): Promise<ImageRecord> {
    const o = this.opts;
    const runtime = commitRuntimeConfig(o.config, o.changes, o.defaults);
    const docker = parent.manifest.mediaType === MediaType.dockerManifest;
    const parentIds = parent.config.rootfs?.diff_ids ?? [];
    if (parentIds.length !== parent.manifest.layers.length) throw failedPrecondition(`image ${parent.id} lists ${parentIds.length} diff ids for ${parent.manifest.layers.length} layers`);
    const parentChain = parentIds.length > 0 ? chainId(parentIds) : '';
    const { desc: layer, diffId, unpackedSize } = await this.layer(input, parentChain, docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip);
    const chain = layer ? chainId([...parentIds, diffId]) : parentChain;
    // the new chain's snapshot (or the same tree committed before)
    if (layer) await this.commitExtract(o.snapshotter, chain, diffId, unpackedSize);
    const config = commitImageConfig(parent.config, runtime, layer ? diffId : undefined, {
      created: new Date().toISOString(), author: o.author, comment: o.comment, createdBy: o.createdBy, container: o.container, containerConfig: o.containerConfig,
    });
    const configBody = Buffer.from(JSON.stringify(config));
    const configDigest = await this.storeBlob(configBody, { [`${GC_REF_SNAPSHOT_PREFIX}${o.snapshotter.name}`]: chain });
    const layers = layer ? [...parent.manifest.layers, layer] : [...parent.manifest.layers];
    const manifest: ImageManifest = {
      schemaVersion: 2, mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
      config: { mediaType: parent.manifest.config.mediaType, digest: configDigest, size: configBody.length }, layers,
    };
    const body = Buffer.from(JSON.stringify(manifest));
    const refs: Record<string, string> = { [`${GC_REF_CONTENT_PREFIX}config`]: configDigest };
    layers.forEach((l, i) => { refs[`${GC_REF_CONTENT_PREFIX}l.${i}`] = l.digest; });
    const digest = await this.storeBlob(body, refs);
    const name = o.name === '' ? idName(configDigest) : formatReference(parseReference(o.name));
    return this.deps.images.put({ namespace: this.ns, name, target: { mediaType: manifest.mediaType!, digest, size: body.length }, labels: {} });
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
    await run?.cleanup(opts.snapshotter);
  }
}
