/**
 * The users' view of the core's images: records grouped by image ID (the
 * config digest), each with the core's Docker-shaped inspect document, and
 * lookups by what users type (a name, a short or full ID, a digest
 * reference) with Docker's `No such image: x` when nothing matches.
 */
import { BerthError, notFound } from '../../common/errors.js';
import type { CoreClient } from '../../core/client.js';
import type { Container, Image } from '../../core/api/types.js';
import { familiarOf, formatFull, looksLikeId, parseRef, withDefaultTag } from './reference.js';
import { registryDigests } from './repo-digests.js';

/** The fields of the core's inspect document the daemon reads. */
export interface InspectDoc {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: string;
  Size: number;
  Config: { Labels?: Record<string, string> | null; [k: string]: unknown };
  RootFS: { Layers: string[] };
  [k: string]: unknown;
}

export interface ImageView {
  id: string;
  /** the core records naming this image (normalised names, or the ID for untagged ones) */
  records: Image[];
  doc: InspectDoc;
  /** each layer's unpacked size (the core's count, dockerd's), in doc.RootFS.Layers order */
  layerSizes: number[];
}

export async function inspectRef(core: CoreClient, ref: string): Promise<InspectDoc> {
  return (await inspectSized(core, ref)).doc;
}

/** The inspect document and its layers' unpacked sizes (an older core sends none: the Size spread evenly). */
async function inspectSized(core: CoreClient, ref: string): Promise<{ doc: InspectDoc; layerSizes: number[] }> {
  const res = await core.images.Inspect({ ref });
  const doc = JSON.parse(res.json.toString('utf8')) as InspectDoc;
  const n = doc.RootFS.Layers.length;
  const sizes = (res.layerSizes ?? []).map(Number);
  return { doc, layerSizes: sizes.length === n ? sizes : new Array<number>(n).fill(n > 0 ? doc.Size / n : 0) };
}

/** Every image, once per ID. */
export async function allImages(core: CoreClient): Promise<ImageView[]> {
  const { images } = await core.images.List({ filters: [] });
  const byTarget = new Map<string, string>();
  const views = new Map<string, ImageView>();
  for (const r of images) {
    const digest = r.target?.digest ?? '';
    let id = byTarget.get(digest);
    if (id === undefined) {
      const got = await inspectSized(core, r.name).catch(() => undefined);
      if (got === undefined) continue; // content missing: not an image users can see
      id = got.doc.Id;
      byTarget.set(digest, id);
      if (!views.has(id)) views.set(id, { id, records: [], ...got });
    }
    views.get(id)!.records.push(r);
  }
  for (const v of views.values()) v.doc.RepoDigests = registryDigests(v.doc.RepoDigests ?? [], v.records);
  return [...views.values()];
}

export interface Found { view: ImageView; byId: boolean; record: Image | undefined }

/** What `text` names: a record by name (default tag latest), a digest reference, or an ID (prefix). */
export async function findImage(core: CoreClient, text: string): Promise<Found> {
  const views = await allImages(core);
  if (looksLikeId(text)) {
    const hex = text.replace(/^sha256:/, '');
    const hits = views.filter((v) => v.id.slice(7).startsWith(hex));
    if (hits.length === 1) return { view: hits[0]!, byId: true, record: undefined };
  }
  let full: string | undefined;
  try { full = formatFull(withDefaultTag(parseRef(text))); } catch (err) {
    if (!(err instanceof BerthError) || looksLikeId(text)) throw err;
  }
  if (full !== undefined) {
    const ref = parseRef(full);
    for (const v of views) {
      const record = v.records.find((r) => r.name === full);
      if (record) return { view: v, byId: false, record };
      // repo@digest: any name of that repository whose manifest (or index) has the digest
      if (ref.digest !== undefined && v.records.some((r) => r.target?.digest === ref.digest)) {
        return { view: v, byId: false, record: v.records.find((r) => r.name.startsWith(`${ref.domain}/${ref.path}`)) };
      }
    }
  }
  // dockerd names a reference with its tag (No such image: x:latest), an ID as given
  throw notFound(`No such image: ${full !== undefined && !looksLikeId(text) ? familiarOf(full) ?? text : text}`);
}

/** The familiar tagged names of a view (busybox:latest); digest-only names left out. */
export function tagsOf(view: ImageView): string[] {
  return view.records.map((r) => familiarOf(r.name)).filter((n): n is string => n !== undefined && !n.includes('@'));
}

/** Containers whose image is this one: by a name of it, its ID or an ID prefix. */
export function containersUsing(view: ImageView, containers: Container[]): Container[] {
  const names = new Set(view.records.map((r) => r.name));
  return containers.filter((c) => {
    if (c.image === '') return false;
    if (looksLikeId(c.image) && view.id.slice(7).startsWith(c.image.replace(/^sha256:/, ''))) return true;
    try { return names.has(formatFull(withDefaultTag(parseRef(c.image)))); } catch { return false; }
  });
}
