/**
 * `save`: images to one tar that both `docker load` forms read — the
 * docker-archive files (manifest.json, repositories, per-layer directories
 * with VERSION, json and a layer.tar link) over an OCI image layout
 * (oci-layout, index.json, blobs/sha256/…), as Docker ≥ 25 writes it. Each
 * image is its platform manifest (from an index, the one the store holds
 * for the platform); its blobs are written as stored, once each; images
 * sharing an ID share one manifest.json entry with all their tags. A layer
 * whose blob a pull skipped (its snapshot was here already) is written from
 * another blob of the same diff ID, or fetched (layers.ts); the archive then
 * carries the image's manifest with those layers, its config (its ID) the same.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';
import { BerthError, invalidArgument } from '../../../common/errors.js';
import type { ContentStore } from '../../content/types.js';
import { familiarName, familiarString, parseReference } from '../../distribution/reference.js';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest, type Platform } from '../../oci/types.js';
import { digestOf } from '../../content/digest.js';
import { chainIds } from '../chainid.js';
import { findImages, type ResolvedImage } from '../resolve.js';
import type { ImageStore } from '../types.js';
import {
  blobPath, IMAGE_NAME_ANNOTATION, INDEX_JSON, MANIFEST_JSON, OCI_LAYOUT, OCI_LAYOUT_VERSION, REF_NAME_ANNOTATION, REPOSITORIES, type ArchiveManifestEntry,
} from './format.js';
import { LayerFinder, type OpenRemote } from './layers.js';

export interface SaveOptions {
  namespace: string;
  platform: Platform;
  /** where a layer no stored blob holds is fetched from; absent: such a save is refused */
  openRemote?: OpenRemote;
}

/**
 * One image ID to save, with every tag that names it; the layers written,
 * and the manifest that names them (body set when rewritten: not in the store).
 */
interface SaveItem {
  image: ResolvedImage;
  tags: { name: string; familiar: string; repo: string; tag: string }[];
  layers: Descriptor[];
  manifest: { desc: Descriptor; body?: Buffer };
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The tag of a record name, or undefined for untagged names (an ID, a digest reference). */
function tagOf(name: string): SaveItem['tags'][number] | undefined {
  let ref;
  try { ref = parseReference(name); } catch { return undefined; }
  if (name.startsWith('sha256:') || ref.tag === undefined || ref.digest !== undefined) return undefined;
  return { name, familiar: familiarString(ref), repo: familiarName(ref), tag: ref.tag };
}

/** Resolves what to save first, so a missing image fails the call before any byte is sent. */
async function plan(content: ContentStore, images: ImageStore, names: string[], opts: SaveOptions): Promise<SaveItem[]> {
  if (names.length === 0) throw invalidArgument('cannot save images: no image named');
  const byId = new Map<string, SaveItem>();
  for (const text of names) {
    const { matches } = await findImages(content, images, opts.namespace, text, opts.platform);
    for (const m of matches) {
      const item = byId.get(m.id) ?? { image: m, tags: [], layers: m.manifest.layers, manifest: { desc: m.manifestDesc } };
      byId.set(m.id, item);
      const t = tagOf(m.record.name);
      if (t && !item.tags.some((x) => x.name === t.name)) item.tags.push(t);
    }
  }
  const finder = new LayerFinder({ content, images, namespace: opts.namespace, platform: opts.platform, openRemote: opts.openRemote });
  for (const item of byId.values()) {
    const { image } = item;
    for (const b of [image.manifestDesc, image.manifest.config]) {
      if (!content.has(opts.namespace, b.digest)) throw invalidArgument(`cannot save image ${image.record.name}: blob ${b.digest} is not in the content store`);
    }
    const { layers, replaced } = await finder.layersOf(image);
    item.layers = layers;
    if (replaced) item.manifest = rewrittenManifest(image, layers);
  }
  return [...byId.values()];
}

/** The image's manifest naming the layers written instead of those it names. */
function rewrittenManifest(image: ResolvedImage, layers: Descriptor[]): SaveItem['manifest'] {
  const manifest: ImageManifest = { ...image.manifest, layers };
  const body = Buffer.from(JSON.stringify(manifest));
  return { desc: { mediaType: image.manifestDesc.mediaType, digest: digestOf(body), size: body.length }, body };
}

/** Docker's legacy layer IDs: one per layer, derived from the chain so identical stacks share them. */
function v1Ids(diffIds: string[]): string[] {
  return chainIds(diffIds).map((c) => sha(`berth-v1 ${c}`));
}

function addBuffer(p: Pack, name: string, data: Buffer | string, mtime: Date): Promise<void> {
  return new Promise((resolve, reject) => p.entry({ name, mtime, mode: 0o644 }, data, (err) => (err ? reject(err) : resolve())));
}

async function addBlob(p: Pack, content: ContentStore, ns: string, d: Descriptor, mtime: Date): Promise<void> {
  const size = content.info(ns, d.digest).size;
  let finished!: Promise<void>;
  const done = new Promise<void>((resolve, reject) => {
    const entry = p.entry({ name: blobPath(d.digest), size, mtime, mode: 0o644 }, (err) => (err ? reject(err) : resolve()));
    finished = pipeline(content.reader(ns, d.digest), entry);
  });
  await Promise.all([finished, done]);
}

async function writeArchive(p: Pack, content: ContentStore, items: SaveItem[], ns: string): Promise<void> {
  const mtime = new Date(0);
  const written = new Set<string>();
  const manifestJson: ArchiveManifestEntry[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  const blob = async (d: Descriptor): Promise<void> => {
    if (written.has(d.digest)) return;
    written.add(d.digest);
    await addBlob(p, content, ns, d, mtime);
  };
  for (const { image, tags, layers, manifest: out } of items) {
    const { manifest, config } = image;
    const manifestDesc = out.desc;
    for (const l of layers) await blob(l);
    await blob(manifest.config);
    if (out.body === undefined) await blob(manifestDesc);
    else if (!written.has(manifestDesc.digest)) {
      written.add(manifestDesc.digest);
      await addBuffer(p, blobPath(manifestDesc.digest), out.body, mtime);
    }
    const ids = v1Ids(config.rootfs.diff_ids);
    for (const [i, id] of ids.entries()) {
      if (written.has(id)) continue;
      written.add(id);
      await addBuffer(p, `${id}/VERSION`, '1.0', mtime);
      const v1 = { id, ...(i > 0 ? { parent: ids[i - 1] } : {}), created: config.created ?? mtime.toISOString(), os: config.os, architecture: config.architecture };
      await addBuffer(p, `${id}/json`, JSON.stringify(v1), mtime);
      await new Promise<void>((resolve, reject) => p.entry({ name: `${id}/layer.tar`, type: 'symlink', linkname: `../${blobPath(layers[i]!.digest)}`, mtime }, (err) => (err ? reject(err) : resolve())));
    }
    manifestJson.push({ Config: blobPath(manifest.config.digest), RepoTags: tags.length > 0 ? tags.map((t) => t.familiar) : null, Layers: layers.map((l) => blobPath(l.digest)) });
    for (const t of tags) (repositories[t.repo] ??= {})[t.tag] = ids.at(-1) ?? '';
    const desc = { mediaType: manifestDesc.mediaType, digest: manifestDesc.digest, size: manifestDesc.size };
    if (tags.length === 0) index.manifests.push(desc);
    for (const t of tags) index.manifests.push({ ...desc, annotations: { [IMAGE_NAME_ANNOTATION]: t.name, [REF_NAME_ANNOTATION]: t.tag } });
  }
  await addBuffer(p, OCI_LAYOUT, JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }), mtime);
  await addBuffer(p, INDEX_JSON, JSON.stringify(index), mtime);
  await addBuffer(p, MANIFEST_JSON, JSON.stringify(manifestJson), mtime);
  await addBuffer(p, REPOSITORIES, JSON.stringify(repositories), mtime);
}

/**
 * The archive of the images `names` mean (names, short names, IDs), as a
 * stream. Resolution errors reject before the stream exists; a failure while
 * streaming destroys it with the error.
 */
export async function saveImages(content: ContentStore, images: ImageStore, names: string[], opts: SaveOptions): Promise<Readable> {
  const items = await plan(content, images, names, opts);
  const p = pack();
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  p.on('error', (err) => out.destroy(err));
  p.pipe(out);
  writeArchive(p, content, items, opts.namespace).then(() => p.finalize(), (err: unknown) => {
    const e = err instanceof BerthError ? err : new BerthError('internal', `cannot save images: ${(err as Error).message}`, { cause: err });
    out.destroy(e);
    p.destroy(e);
  });
  return out;
}
