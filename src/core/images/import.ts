/**
 * `import`: a root filesystem tar (plain, gzip or zstd, from a file or a
 * stream) becomes a one-layer linux/amd64 image. The bytes pass once: into
 * the content store as the layer blob (digest computed on the way) and,
 * in the same pass, into a snapshot (the diff ID computed by the unpacker).
 * The config carries the `--change` instructions and the `--message` as
 * the history comment. Held by a lease until the image record is written.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { BerthError, invalidArgument } from '../../common/errors.js';
import { GC_REF_CONTENT_PREFIX, GC_REF_SNAPSHOT_PREFIX, type ContentWriter } from '../content/types.js';
import { formatReference, parseReference } from '../distribution/reference.js';
import { MediaType, type Descriptor, type ImageConfig, type ImageManifest } from '../oci/types.js';
import type { Snapshotter } from '../snapshots/types.js';
import { applyLayer } from '../unpack/apply.js';
import { compressionOf, decompress } from '../unpack/decompress.js';
import type { ArchiveDeps } from './archive/load.js';
import { idName } from './archive/load.js';
import { applyChanges } from './import-changes.js';
import { feed, LeasedBuild } from './leased-build.js';
import type { ImageRecord } from './types.js';

export interface ImportOptions {
  namespace: string;
  /** the image's name; "" names it by its ID */
  name: string;
  /** Dockerfile instructions (`--change`) */
  changes: readonly string[];
  /** the history comment (`--message`); "" for Docker's "Imported from -" */
  message: string;
  /** where to unpack; undefined: content only */
  snapshotter?: Snapshotter;
}

/** The diff ID alone, when nothing is unpacked (the unpacked size is measured when an image call first needs it). */
async function diffIdOf(input: Readable): Promise<{ diffId: string; unpackedSize?: number }> {
  const h = createHash('sha256');
  for await (const c of decompress(input, '')) h.update(c);
  return { diffId: `sha256:${h.digest('hex')}` };
}

const layerType = (head: Buffer): string => {
  const kind = compressionOf('', head);
  return kind === 'gzip' ? MediaType.ociLayerGzip : kind === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
};

class ImportRun extends LeasedBuild {
  constructor(private readonly deps: ArchiveDeps, private readonly opts: ImportOptions) {
    super(deps, opts.namespace, { 'berth.lease.import': opts.name });
  }

  /** Streams input into the content store and the unpacker; returns the layer and its diff ID. */
  private async layer(input: Readable): Promise<{ desc: Descriptor; diffId: string; unpackedSize?: number }> {
    const sn = this.opts.snapshotter;
    const tee = new PassThrough({ highWaterMark: 1 << 20 });
    let consumer: Promise<{ diffId: string; unpackedSize?: number }>;
    if (sn) {
      const target = await this.prepareExtract(sn, '');
      consumer = applyLayer(tee, { mediaType: '', dir: target.dir, whiteouts: target.whiteouts, digest: 'of the imported tar' });
    } else consumer = diffIdOf(tee);
    consumer.catch((err: unknown) => { if (!tee.destroyed) tee.destroy(err instanceof Error ? err : new Error(String(err))); });
    const w: ContentWriter = await this.openIngest('import');
    const hash = createHash('sha256');
    let size = 0;
    let head = Buffer.alloc(0);
    const fed = (async () => {
      try {
        for await (const chunk of input as AsyncIterable<Buffer>) {
          if (head.length < 8) head = Buffer.concat([head, chunk.subarray(0, 8)]);
          hash.update(chunk);
          size += chunk.length;
          await w.write(chunk);
          await feed(tee, chunk);
        }
        tee.end();
      } catch (err) {
        tee.destroy(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    })();
    const [f, c] = await Promise.allSettled([fed, consumer]);
    if (f.status === 'rejected') { await w.close().catch(() => undefined); throw f.reason; }
    if (c.status === 'rejected') { await w.close().catch(() => undefined); throw c.reason; }
    if (size === 0) { await w.close().catch(() => undefined); throw invalidArgument('the root filesystem tar is empty'); }
    const digest = `sha256:${hash.digest('hex')}`;
    await this.commitIngest(w, size, digest);
    return { desc: { mediaType: layerType(head), digest, size }, diffId: c.value.diffId, unpackedSize: c.value.unpackedSize };
  }

  async run(input: Readable): Promise<ImageRecord> {
    const name = this.opts.name === '' ? '' : formatReference(parseReference(this.opts.name));
    const config0 = applyChanges({}, this.opts.changes);
    const { desc: layer, diffId, unpackedSize } = await this.layer(input);
    const sn = this.opts.snapshotter;
    // the same tree imported or pulled before: that snapshot serves
    if (sn) await this.commitExtract(sn, diffId, diffId, unpackedSize);
    const created = new Date().toISOString();
    const config: ImageConfig = {
      created, architecture: 'amd64', os: 'linux', config: config0,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, comment: this.opts.message !== '' ? this.opts.message : 'Imported from -' }],
    };
    const configBody = Buffer.from(JSON.stringify(config));
    const configDigest = await this.storeBlob(configBody, sn ? { [`${GC_REF_SNAPSHOT_PREFIX}${sn.name}`]: diffId } : {});
    const manifest: ImageManifest = {
      schemaVersion: 2, mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBody.length }, layers: [layer],
    };
    const body = Buffer.from(JSON.stringify(manifest));
    const digest = await this.storeBlob(body, { [`${GC_REF_CONTENT_PREFIX}config`]: configDigest, [`${GC_REF_CONTENT_PREFIX}l.0`]: layer.digest });
    return this.deps.images.put({ namespace: this.ns, name: name === '' ? idName(configDigest) : name, target: { mediaType: MediaType.ociManifest, digest, size: body.length }, labels: {} });
  }

}

/** Imports a root filesystem tar as a one-layer image; resolves with its record. */
export async function importRootfs(deps: ArchiveDeps, input: Readable, opts: ImportOptions): Promise<ImageRecord> {
  const what = opts.name === '' ? 'root filesystem' : opts.name;
  const run = new ImportRun(deps, opts);
  try {
    return await run.run(input);
  } catch (err) {
    input.destroy();
    if (err instanceof BerthError) throw new BerthError(err.kind, `cannot import ${what}: ${err.message}`, { cause: err });
    throw new BerthError('internal', `cannot import ${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    await run.cleanup(opts.snapshotter);
  }
}
