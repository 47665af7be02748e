/**
 * From an image record to what it is made of: the manifest for a platform
 * (from an index, the one the store holds, preferring the platform asked
 * for) and its config. And from what a user types (a name, a short name, an
 * image ID or a prefix of one) to the records it means.
 */
import { invalidArgument, notFound } from '../../common/errors.js';
import type { ContentStore } from '../content/types.js';
import { platformRank } from '../distribution/platform.js';
import { formatReference, parseReference } from '../distribution/reference.js';
import {
  isIndexMediaType, isManifestMediaType, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform,
} from '../oci/types.js';
import type { ImageRecord, ImageStore } from './types.js';

export interface ResolvedImage {
  record: ImageRecord;
  manifestDesc: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  /** the image ID: the config's digest */
  id: string;
}

const json = async <T>(content: ContentStore, ns: string, digest: string): Promise<T> =>
  JSON.parse((await content.readBlob(ns, digest)).toString('utf8')) as T;

async function manifestOf(content: ContentStore, ns: string, target: Descriptor, platform: Platform, name: string): Promise<Descriptor> {
  if (isManifestMediaType(target.mediaType)) return target;
  if (!isIndexMediaType(target.mediaType)) throw invalidArgument(`image ${name}: unsupported media type ${target.mediaType}`);
  const index = await json<ImageIndex>(content, ns, target.digest);
  const held = index.manifests.filter((d) => content.has(ns, d.digest));
  const ranked = held.map((d) => ({ d, rank: d.platform ? platformRank(platform, d.platform) : -1 })).filter((x) => x.rank >= 0).sort((a, b) => a.rank - b.rank);
  const chosen = ranked[0]?.d ?? held[0];
  if (!chosen) throw notFound(`image ${name}: no manifest of index ${target.digest} is in the content store`);
  return isIndexMediaType(chosen.mediaType) ? manifestOf(content, ns, chosen, platform, name) : chosen;
}

export async function resolveImage(content: ContentStore, record: ImageRecord, platform: Platform): Promise<ResolvedImage> {
  const ns = record.namespace;
  const manifestDesc = await manifestOf(content, ns, record.target, platform, record.name);
  const manifest = await json<ImageManifest>(content, ns, manifestDesc.digest);
  const config = await json<ImageConfig>(content, ns, manifest.config.digest);
  return { record, manifestDesc, manifest, config, id: manifest.config.digest };
}

/** The normalised name of what a user typed, or undefined when it is no reference (an ID). */
export function normalName(text: string): string | undefined {
  try { return formatReference(parseReference(text)); } catch { return undefined; }
}

/**
 * The records `text` names: one by name; else every image whose ID (config
 * digest) or target digest starts with it (`sha256:` optional, 12+ hex).
 */
export async function findImages(content: ContentStore, images: ImageStore, ns: string, text: string, platform: Platform): Promise<{ byId: boolean; matches: ResolvedImage[] }> {
  const name = normalName(text);
  const byName = name !== undefined ? images.find(ns, name) : undefined;
  if (byName) return { byId: false, matches: [await resolveImage(content, byName, platform)] };
  const hex = text.startsWith('sha256:') ? text.slice(7) : text;
  if (/^[0-9a-f]{4,64}$/.test(hex)) {
    const matches: ResolvedImage[] = [];
    for (const r of images.list(ns)) {
      const resolved = await resolveImage(content, r, platform).catch(() => undefined);
      if (!resolved) continue;
      if (resolved.id.slice(7).startsWith(hex) || r.target.digest.slice(7).startsWith(hex)) matches.push(resolved);
    }
    const ids = new Set(matches.map((m) => m.id));
    if (ids.size > 1) throw invalidArgument(`image id prefix ${text} is ambiguous (${[...ids].map((i) => i.slice(7, 19)).join(', ')})`);
    if (matches.length > 0) return { byId: true, matches };
  }
  throw notFound(`image ${text} not found`);
}
