/**
 * Layers as dockerd counts them for sizes: a layer is its chain (the same
 * diff on another parent is another layer), sized by its unpacked bytes.
 * One count serves /system/df (LayersSize, SharedSize), /images/json's
 * SharedSize and prune's SpaceReclaimed, so the three never disagree.
 */
import type { ImageView } from './catalog.js';

/** The chain of each of a view's layers, bottom first (the diff IDs up to it). */
export function layerChains(view: ImageView): string[] {
  return view.doc.RootFS.Layers.map((_, i, all) => all.slice(0, i + 1).join('>'));
}

export interface LayerUse {
  /** images using each chain */
  users: Map<string, number>;
  /** each chain's unpacked size */
  sizes: Map<string, number>;
}

export function layerUse(views: ImageView[]): LayerUse {
  const users = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (const v of views) {
    layerChains(v).forEach((c, i) => { users.set(c, (users.get(c) ?? 0) + 1); sizes.set(c, v.layerSizes[i] ?? 0); });
  }
  return { users, sizes };
}

/** Every distinct layer's size once: /system/df's LayersSize. */
export function layersSize(use: LayerUse): number {
  let n = 0;
  for (const s of use.sizes.values()) n += s;
  return Math.round(n);
}

/** The size of a view's layers another image of `use` also has: dockerd's SharedSize. */
export function sharedSize(view: ImageView, use: LayerUse): number {
  let n = 0;
  layerChains(view).forEach((c, i) => { if ((use.users.get(c) ?? 0) > 1) n += view.layerSizes[i] ?? 0; });
  return Math.round(n);
}

/** The size of the layers held before and by no image after: what a removal released (prune's SpaceReclaimed). */
export function releasedSize(before: ImageView[], after: ImageView[]): number {
  const kept = layerUse(after).users;
  let n = 0;
  for (const [c, s] of layerUse(before).sizes) if (!kept.has(c)) n += s;
  return Math.round(n);
}
