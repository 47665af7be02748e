/**
 * Tag, remove and prune, as Docker's `image tag|rm|prune` mean them. An
 * image is the set of names sharing one ID (config digest); removing a name
 * untags it, removing the last one deletes the image, which is refused
 * while a container was made from it (unless forced). What a deleted image
 * held is left to garbage collection.
 */
import { failedPrecondition } from '../../common/errors.js';
import type { ContentStore } from '../content/types.js';
import { familiarString, parseReference } from '../distribution/reference.js';
import type { Platform } from '../oci/types.js';
import { findImages, normalName, resolveImage, type ResolvedImage } from './resolve.js';
import type { ImageRecord, ImageStore } from './types.js';

export interface ManageDeps {
  content: ContentStore;
  images: ImageStore;
  platform: Platform;
  /** the image field of every container in the namespace (as written: names, short names or IDs) */
  containerImages(namespace: string): string[];
}

export function tagImage(d: ManageDeps, ns: string, source: string, target: string): Promise<ImageRecord> {
  return findImages(d.content, d.images, ns, source, d.platform).then(({ matches }) => {
    const name = formatTarget(target);
    const from = matches[0]!.record;
    return d.images.put({ namespace: ns, name, target: from.target, labels: { ...from.labels } });
  });
}

function formatTarget(text: string): string {
  const ref = parseReference(text);
  return normalName(familiarString(ref))!;
}

/** All records with this ID. */
async function sameId(d: ManageDeps, ns: string, id: string): Promise<ResolvedImage[]> {
  const out: ResolvedImage[] = [];
  for (const r of d.images.list(ns)) {
    const img = await resolveImage(d.content, r, d.platform).catch(() => undefined);
    if (img?.id === id) out.push(img);
  }
  return out;
}

/** Containers made from any of these names or this ID. */
function users(d: ManageDeps, ns: string, names: string[], id: string): string[] {
  const wanted = new Set(names);
  return d.containerImages(ns).filter((image) => {
    if (image === '') return false;
    const hex = image.startsWith('sha256:') ? image.slice(7) : image;
    if (/^[0-9a-f]{12,64}$/.test(hex) && id.slice(7).startsWith(hex)) return true;
    const n = normalName(image);
    return n !== undefined && wanted.has(n);
  });
}

const display = (name: string): string => familiarString(parseReference(name));

export interface RemoveResult { untagged: string[]; deleted: string[] }

export async function removeImage(d: ManageDeps, ns: string, text: string, force: boolean): Promise<RemoveResult> {
  const { byId, matches } = await findImages(d.content, d.images, ns, text, d.platform);
  const id = matches[0]!.id;
  const all = await sameId(d, ns, id);
  const names = all.map((i) => i.record.name);
  if (!byId && all.length > 1) {
    // one name of several: untag it, the image stays
    d.images.delete(ns, matches[0]!.record.name);
    return { untagged: [display(matches[0]!.record.name)], deleted: [] };
  }
  if (byId && all.length > 1 && !force) {
    throw failedPrecondition(`cannot remove image ${text}: it is referenced in multiple repositories (${names.map(display).join(', ')}); remove them by name or force`);
  }
  const usedBy = users(d, ns, names, id);
  if (usedBy.length > 0 && !force) {
    throw failedPrecondition(`cannot remove image ${text}: a container uses it (image ${usedBy[0]}); remove the container or force`);
  }
  for (const n of names) d.images.delete(ns, n);
  return { untagged: names.map(display), deleted: [id] };
}

/** Deletes dangling images (digest-only names), or with all every image no container uses; returns the names removed. */
export async function pruneImages(d: ManageDeps, ns: string, all: boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const r of d.images.list(ns)) {
    const ref = parseReference(r.name);
    const dangling = ref.tag === undefined;
    if (!dangling && !all) continue;
    const img = await resolveImage(d.content, r, d.platform).catch(() => undefined);
    if (users(d, ns, [r.name], img?.id ?? '').length > 0) continue;
    d.images.delete(ns, r.name);
    removed.push(r.name);
  }
  return removed;
}
