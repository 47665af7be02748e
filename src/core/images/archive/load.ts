/**
 * `load`: an archive in the docker-archive or OCI-layout form (detected;
 * plain or compressed) becomes images. Every blob is verified as it is
 * written (an OCI blob against its name, a layer against the config's diff
 * ID while it is unpacked); a docker-archive image without an OCI manifest
 * in the tar gets a Docker schema 2 manifest made here. Names come from
 * RepoTags, or from the layout's name annotations; an image without one is
 * named by its ID (`sha256:<config hex>`), as `docker load` reports it.
 * Everything is held by a lease until the image records are written, so a
 * refused archive leaves nothing that garbage collection keeps.
 */
import type { Readable } from 'node:stream';
import { BerthError, invalidArgument } from '../../../common/errors.js';
import type { Logger } from '../../../common/log.js';
import { digestOf } from '../../content/digest.js';
import { GC_REF_CONTENT_PREFIX, GC_REF_SNAPSHOT_PREFIX, type ContentStore } from '../../content/types.js';
import { selectManifest } from '../../distribution/platform.js';
import { formatReference, parseReference } from '../../distribution/reference.js';
import type { LeaseManager } from '../../leases/types.js';
import {
  isIndexMediaType, isManifestMediaType, MediaType, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform,
} from '../../oci/types.js';
import type { Snapshotter } from '../../snapshots/types.js';
import { compressionOf } from '../../unpack/decompress.js';
import type { LayerSizes } from '../layer-sizes.js';
import type { ImageRecord, ImageStore } from '../types.js';
import { IMAGE_NAME_ANNOTATION, INDEX_JSON, MANIFEST_JSON, OCI_LAYOUT, REF_NAME_ANNOTATION, type ArchiveManifestEntry } from './format.js';
import { fileDigest, readArchive, type ReadArchive } from './reader.js';
import { unpackStored } from './unpack.js';

export interface ArchiveDeps {
  content: ContentStore;
  leases: LeaseManager;
  images: ImageStore;
  /** where each unpacked layer's size is recorded */
  layerSizes: LayerSizes;
  log?: Logger;
}

export interface LoadOptions {
  namespace: string;
  platform: Platform;
  /** where to unpack; undefined: content only */
  snapshotter?: Snapshotter;
}

/** One image the archive holds: its target and the names it gets. */
interface Planned { target: Descriptor; names: string[] }

const LEASE_TTL_MS = 60 * 60 * 1000;

function parseJson<T>(body: Buffer, what: string): T {
  try { return JSON.parse(body.toString('utf8')) as T; } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The normalised name of a tag written in an archive. */
function nameOf(tag: string, where: string): string {
  try { return formatReference(parseReference(tag)); } catch (err) {
    throw invalidArgument(`${where}: ${(err as Error).message}`);
  }
}

/** The untagged name of an image: its ID. */
export const idName = (configDigest: string): string => configDigest;

class LoadRun {
  private readonly ns: string;
  private readonly leaseId: string;

  constructor(private readonly deps: ArchiveDeps, private readonly opts: LoadOptions) {
    this.ns = opts.namespace;
    this.leaseId = deps.leases.create(this.ns, undefined, { 'berth.lease.load': 'archive' }, Date.now() + LEASE_TTL_MS).id;
  }

  hold(type: string, id: string): void {
    this.deps.leases.addResource(this.ns, this.leaseId, { type, id });
  }

  async run(input: Readable): Promise<ImageRecord[]> {
    const a = await readArchive(input, { namespace: this.ns, content: this.deps.content, hold: (d) => this.hold('content', d) });
    const planned = a.metadata.has(MANIFEST_JSON) ? await this.dockerArchive(a) : a.metadata.has(INDEX_JSON) ? await this.ociLayout(a) : undefined;
    if (!planned) throw invalidArgument('not a docker-archive or OCI layout: it has neither manifest.json nor index.json');
    if (planned.length === 0) throw invalidArgument('the archive holds no image');
    const ids: string[] = [];
    for (const p of planned) ids.push(await this.prepare(p.target));
    const out: ImageRecord[] = [];
    planned.forEach((p, i) => {
      const id = ids[i]!;
      const names = p.names.length > 0 ? p.names : [idName(id)];
      for (const name of names) out.push(this.deps.images.put({ namespace: this.ns, name, target: { mediaType: p.target.mediaType, digest: p.target.digest, size: p.target.size }, labels: {} }));
      // a tagged load of an image loaded untagged before: the ID name was a placeholder
      if (p.names.length > 0 && this.deps.images.find(this.ns, idName(id))) this.deps.images.delete(this.ns, idName(id));
    });
    return out;
  }

  private async json<T>(digest: string, what: string): Promise<T> {
    return parseJson<T>(await this.deps.content.readBlob(this.ns, digest), what);
  }

  /** docker-archive: manifest.json's entries, each with an OCI manifest from the layout when there is one, else a made one. */
  private async dockerArchive(a: ReadArchive): Promise<Planned[]> {
    const entries = parseJson<ArchiveManifestEntry[]>(a.metadata.get(MANIFEST_JSON)!, MANIFEST_JSON);
    if (!Array.isArray(entries)) throw invalidArgument(`${MANIFEST_JSON} is not a list`);
    const layoutManifests = a.metadata.has(INDEX_JSON) && a.metadata.has(OCI_LAYOUT) ? await this.layoutManifests(a) : [];
    const out: Planned[] = [];
    for (const [i, e] of entries.entries()) {
      if (typeof e.Config !== 'string' || !Array.isArray(e.Layers)) throw invalidArgument(`${MANIFEST_JSON} entry ${i} has no Config or Layers`);
      const config = fileDigest(a, e.Config);
      const layers = e.Layers.map((l) => fileDigest(a, l));
      const names = (e.RepoTags ?? []).map((t) => nameOf(t, `${MANIFEST_JSON} entry ${i}`));
      const same = layoutManifests.find((m) => m.manifest.config.digest === config.digest
        && m.manifest.layers.length === layers.length && m.manifest.layers.every((l, j) => l.digest === layers[j]!.digest));
      out.push({ target: same?.desc ?? await this.makeManifest(config, layers), names });
    }
    return out;
  }

  /** The image manifests an OCI layout's index.json points at directly. */
  private async layoutManifests(a: ReadArchive): Promise<{ desc: Descriptor; manifest: ImageManifest }[]> {
    const index = parseJson<ImageIndex>(a.metadata.get(INDEX_JSON)!, INDEX_JSON);
    const out: { desc: Descriptor; manifest: ImageManifest }[] = [];
    for (const d of index.manifests ?? []) {
      if (!isManifestMediaType(d.mediaType) || !this.deps.content.has(this.ns, d.digest)) continue;
      out.push({ desc: { mediaType: d.mediaType, digest: d.digest, size: d.size }, manifest: await this.json<ImageManifest>(d.digest, `manifest ${d.digest}`) });
    }
    return out;
  }

  /** A Docker schema 2 manifest for a docker-archive image (layers typed by their magic bytes). */
  private async makeManifest(config: { digest: string; size: number }, layers: { digest: string; size: number }[]): Promise<Descriptor> {
    const typed: Descriptor[] = [];
    for (const l of layers) {
      const kind = compressionOf('', await this.head(l.digest));
      const mediaType = kind === 'gzip' ? MediaType.dockerLayerGzip : kind === 'zstd' ? MediaType.ociLayerZstd : MediaType.dockerLayer;
      typed.push({ mediaType, digest: l.digest, size: l.size });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2, mediaType: MediaType.dockerManifest,
      config: { mediaType: MediaType.dockerConfig, digest: config.digest, size: config.size }, layers: typed,
    };
    const body = Buffer.from(JSON.stringify(manifest));
    const digest = digestOf(body);
    this.hold('content', digest);
    await this.deps.content.writeBlob(this.ns, body, digest).catch((err: unknown) => {
      if (!(err instanceof BerthError && err.kind === 'already-exists')) throw err;
    });
    return { mediaType: MediaType.dockerManifest, digest, size: body.length };
  }

  private async head(digest: string): Promise<Buffer> {
    const r = this.deps.content.reader(this.ns, digest, 0);
    try {
      for await (const chunk of r as AsyncIterable<Buffer>) return chunk.subarray(0, 8);
      return Buffer.alloc(0);
    } finally { r.destroy(); }
  }

  /** OCI layout: every descriptor of index.json, named by its annotations. */
  private async ociLayout(a: ReadArchive): Promise<Planned[]> {
    if (!a.metadata.has(OCI_LAYOUT)) throw invalidArgument(`an OCI layout needs ${OCI_LAYOUT} beside ${INDEX_JSON}`);
    const layout = parseJson<{ imageLayoutVersion?: string }>(a.metadata.get(OCI_LAYOUT)!, OCI_LAYOUT);
    if (typeof layout.imageLayoutVersion !== 'string') throw invalidArgument(`${OCI_LAYOUT} has no imageLayoutVersion`);
    const index = parseJson<ImageIndex>(a.metadata.get(INDEX_JSON)!, INDEX_JSON);
    if (!Array.isArray(index.manifests)) throw invalidArgument(`${INDEX_JSON} has no manifests`);
    return index.manifests.map((d, i) => {
      const ann = d.annotations ?? {};
      const full = ann[IMAGE_NAME_ANNOTATION];
      const ref = ann[REF_NAME_ANNOTATION];
      // a bare tag ("latest") names no repository: only whole references name an image
      const text = full ?? (ref !== undefined && /[/:@]/.test(ref) ? ref : undefined);
      return { target: { mediaType: d.mediaType, digest: d.digest, size: d.size }, names: text !== undefined ? [nameOf(text, `${INDEX_JSON} entry ${i}`)] : [] };
    });
  }

  /** Checks an image's blobs, labels them for gc, unpacks it; returns its ID (config digest). */
  private async prepare(target: Descriptor): Promise<string> {
    const { content } = this.deps;
    if (!content.has(this.ns, target.digest)) throw invalidArgument(`blob ${target.digest} is missing from the archive`);
    let desc = target;
    if (isIndexMediaType(target.mediaType)) desc = await this.platformManifest(target);
    else if (!isManifestMediaType(target.mediaType)) throw invalidArgument(`unsupported media type ${target.mediaType} for ${target.digest}`);
    const manifest = await this.json<ImageManifest>(desc.digest, `manifest ${desc.digest}`);
    if (!manifest.config || !Array.isArray(manifest.layers)) throw invalidArgument(`manifest ${desc.digest} has no config or layers`);
    for (const b of [manifest.config, ...manifest.layers]) {
      if (!content.has(this.ns, b.digest)) throw invalidArgument(`blob ${b.digest} is missing from the archive`);
    }
    const config = await this.json<ImageConfig>(manifest.config.digest, `config ${manifest.config.digest}`);
    if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw invalidArgument(`config ${manifest.config.digest} has no rootfs.diff_ids`);
    this.label(desc.digest, Object.fromEntries([['config', manifest.config.digest], ...manifest.layers.map((l, i) => [`l.${i}`, l.digest])]));
    const sn = this.opts.snapshotter;
    if (sn) {
      const top = await unpackStored({ namespace: this.ns, content, layerSizes: this.deps.layerSizes, snapshotter: sn, hold: (k) => this.hold(`snapshots/${sn.name}`, k) }, manifest.layers, config.rootfs.diff_ids);
      if (top !== '') content.update(this.ns, manifest.config.digest, { [`${GC_REF_SNAPSHOT_PREFIX}${sn.name}`]: top }, [`labels.${GC_REF_SNAPSHOT_PREFIX}${sn.name}`]);
    }
    return manifest.config.digest;
  }

  /** From an index: the manifest for the platform among those the archive holds. */
  private async platformManifest(target: Descriptor): Promise<Descriptor> {
    const index = await this.json<ImageIndex>(target.digest, `index ${target.digest}`);
    if (!Array.isArray(index.manifests)) throw invalidArgument(`index ${target.digest} has no manifests`);
    const held = index.manifests.filter((m) => this.deps.content.has(this.ns, m.digest));
    const chosen = selectManifest({ ...index, manifests: held }, this.opts.platform, `index ${target.digest}`);
    this.label(target.digest, Object.fromEntries(held.map((m) => [`m.${index.manifests.indexOf(m)}`, m.digest])));
    return isIndexMediaType(chosen.mediaType) ? this.platformManifest(chosen) : chosen;
  }

  /** Sets gc reference labels (`berth.gc.ref.content.<key>`) on a blob, keeping its others. */
  private label(digest: string, refs: Record<string, string>): void {
    const labels = Object.fromEntries(Object.entries(refs).map(([k, v]) => [`${GC_REF_CONTENT_PREFIX}${k}`, v]));
    this.deps.content.update(this.ns, digest, labels, Object.keys(labels).map((k) => `labels.${k}`));
  }

  done(): void {
    try { this.deps.leases.delete(this.ns, this.leaseId); } catch { /* expired or gone */ }
  }
}

/** Loads an archive; resolves with the image records written (one per name). */
export async function loadArchive(deps: ArchiveDeps, input: Readable, opts: LoadOptions): Promise<ImageRecord[]> {
  const run = new LoadRun(deps, opts);
  try {
    return await run.run(input);
  } catch (err) {
    input.destroy();
    if (err instanceof BerthError) throw new BerthError(err.kind, `cannot load archive: ${err.message}`, { cause: err });
    throw new BerthError('internal', `cannot load archive: ${(err as Error).message}`, { cause: err });
  } finally {
    run.done();
  }
}
