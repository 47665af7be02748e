/**
 * Where `save` finds each layer's bytes. A pull that finds a layer's
 * snapshot already unpacked does not download that layer's blob (dockerd's
 * "Already exists"), so a pulled image may lack the very blob its manifest
 * names. Docker's save never needs the registry (it rebuilds every layer
 * from its layer store); here, in this order:
 * 1. the blob the manifest names, when stored;
 * 2. another stored blob of the same diff ID: the uncompressed tar itself
 *    (kept by an import or a load), or a copy another image's manifest
 *    names (the same layer compressed elsewise) — both exact, no network;
 * 3. the blob itself, fetched from the registry the image came from (the
 *    source labels of its other layers, then its names), digest verified
 *    and kept, so the image is whole from then on.
 * The tar is not rebuilt from the snapshot: its bytes are whatever tool made
 * the layer (order, headers, padding), which the unpacked files do not keep,
 * so a rebuilt tar would not hash to the diff ID the config promises.
 */
import { BerthError, failedPrecondition } from '../../../common/errors.js';
import type { ContentStore } from '../../content/types.js';
import { parseReference, type Reference } from '../../distribution/reference.js';
import { MediaType, type Descriptor, type Platform } from '../../oci/types.js';
import { copyBlob } from '../blobs.js';
import { SOURCE_LABEL_PREFIX, type Remote } from '../remote.js';
import { resolveImage, type ResolvedImage } from '../resolve.js';
import type { ImageStore } from '../types.js';

/** Opens a remote for a registry reference (the core's settings bound); closed after use. */
export type OpenRemote = (ref: Reference) => Remote & { close(): void };

export interface LayerDeps {
  content: ContentStore;
  images: ImageStore;
  namespace: string;
  platform: Platform;
  /** absent: a layer found in no stored blob is refused, nothing is fetched */
  openRemote?: OpenRemote;
}

/** The layers to write for one image, and whether any differs from its manifest's (the archive then carries a rewritten manifest). */
export interface ArchiveLayers { layers: Descriptor[]; replaced: boolean }

type Compression = 'none' | 'gzip' | 'zstd';

const compressionOfType = (mediaType: string): Compression => (/gzip$/.test(mediaType) ? 'gzip' : /zstd$/.test(mediaType) ? 'zstd' : 'none');

/** The media type a layer of that compression has in a manifest of manifestType (Docker's manifests have no zstd type: OCI's, as containerd writes it). */
export function layerMediaType(manifestType: string, compression: Compression): string {
  const docker = manifestType === MediaType.dockerManifest;
  if (compression === 'gzip') return docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip;
  if (compression === 'zstd') return MediaType.ociLayerZstd;
  return docker ? MediaType.dockerLayer : MediaType.ociLayer;
}

/** Finds layers for the images of one save; the scan of other images is made once, when first needed. */
export class LayerFinder {
  private byDiffId: Map<string, Descriptor> | undefined;

  constructor(private readonly deps: LayerDeps) {}

  async layersOf(image: ResolvedImage): Promise<ArchiveLayers> {
    const { manifest, config } = image;
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw failedPrecondition(`cannot save image ${image.record.name}: its manifest has ${manifest.layers.length} layers, its config ${diffIds.length} diff ids`);
    }
    const layers: Descriptor[] = [];
    let replaced = false;
    for (const [i, layer] of manifest.layers.entries()) {
      const found = await this.find(image, layer, diffIds[i]!);
      if (found.digest !== layer.digest) replaced = true;
      layers.push(found);
    }
    return { layers, replaced };
  }

  private has(digest: string): boolean {
    return this.deps.content.has(this.deps.namespace, digest);
  }

  private async find(image: ResolvedImage, layer: Descriptor, diffId: string): Promise<Descriptor> {
    if (this.has(layer.digest)) return layer;
    const manifestType = image.manifestDesc.mediaType;
    if (this.has(diffId)) {
      const size = this.deps.content.info(this.deps.namespace, diffId).size;
      return { mediaType: layerMediaType(manifestType, 'none'), digest: diffId, size };
    }
    const other = (await this.storedByDiffId()).get(diffId);
    if (other) return { mediaType: layerMediaType(manifestType, compressionOfType(other.mediaType)), digest: other.digest, size: other.size };
    const why = await this.fetch(image, layer);
    if (why === undefined) return layer;
    throw failedPrecondition(`cannot save image ${image.record.name}: layer ${diffId} (blob ${layer.digest}) was not downloaded when the image was pulled `
      + `(its files were already unpacked here) and no stored blob holds it; ${why}`);
  }

  /** diff ID → a stored layer blob of it, over the manifests of every image of the namespace. */
  private async storedByDiffId(): Promise<Map<string, Descriptor>> {
    if (this.byDiffId) return this.byDiffId;
    const map = new Map<string, Descriptor>();
    for (const record of this.deps.images.list(this.deps.namespace)) {
      const other = await resolveImage(this.deps.content, record, this.deps.platform).catch(() => undefined);
      if (!other) continue;
      const diffIds = other.config.rootfs?.diff_ids ?? [];
      other.manifest.layers.forEach((l, i) => {
        const d = diffIds[i];
        if (d !== undefined && !map.has(d) && this.has(l.digest)) map.set(d, l);
      });
    }
    this.byDiffId = map;
    return map;
  }

  /** Repositories the image may be fetched from: its stored layers' source labels first, then its names. */
  private sources(image: ResolvedImage): string[] {
    const out: string[] = [];
    const add = (s: string): void => { if (!out.includes(s)) out.push(s); };
    for (const l of image.manifest.layers) {
      if (!this.has(l.digest)) continue;
      for (const [k, repo] of Object.entries(this.deps.content.info(this.deps.namespace, l.digest).labels)) {
        if (k.startsWith(SOURCE_LABEL_PREFIX)) add(`${k.slice(SOURCE_LABEL_PREFIX.length)}/${repo}`);
      }
    }
    for (const r of this.deps.images.byTarget(this.deps.namespace, image.record.target.digest)) {
      if (r.name.startsWith('sha256:')) continue;
      try {
        const ref = parseReference(r.name);
        add(`${ref.domain}/${ref.path}`);
      } catch { /* not a reference */ }
    }
    return out;
  }

  /** Fetches the blob into the store; undefined when it is there, else why it is not. */
  private async fetch(image: ResolvedImage, layer: Descriptor): Promise<string | undefined> {
    const open = this.deps.openRemote;
    if (!open) return 'nothing is fetched here';
    const sources = this.sources(image);
    if (sources.length === 0) return 'the image names no registry to fetch it from';
    const failures: string[] = [];
    for (const source of sources) {
      let ref: Reference;
      try { ref = parseReference(source); } catch { continue; }
      const remote = open(ref);
      try {
        await copyBlob(this.deps.content, remote, ref.path, layer, { namespace: this.deps.namespace, labels: { [`${SOURCE_LABEL_PREFIX}${ref.domain}`]: ref.path } });
        return undefined;
      } catch (err) {
        failures.push(`${source}: ${err instanceof BerthError ? err.message : (err as Error).message}`);
      } finally {
        remote.close();
      }
    }
    return `fetching it failed (${failures.join('; ')})`;
  }
}
