/**
 * Images' parents, as dockerd's classic store keeps them for what its
 * builder makes: each image a build step committed names its parent (the
 * image the step ran on) in a label of its record. That gives Docker's
 * `Parent` and `ParentId`, hides intermediate images from `docker images`
 * (untagged images another image is built on; `-a` shows them), names
 * them in `docker history`, and lets `docker rmi` delete an image's
 * untagged ancestors with it.
 */
import type { ImageView } from './catalog.js';
import { tagsOf } from './catalog.js';

/** Set on the record of an image a build step made: its parent's ID. */
export const PARENT_LABEL = 'berthd.build.parent';

export function parentOf(view: ImageView): string {
  return view.records.map((r) => r.labels[PARENT_LABEL]).find((p) => p !== undefined && p !== '') ?? '';
}

/** IDs other images name as their parent. */
export function parentIds(views: readonly ImageView[]): Set<string> {
  return new Set(views.map(parentOf).filter((p) => p !== ''));
}

/** An untagged image that others are built on: hidden from `docker images` without -a, never dangling. */
export function isIntermediate(view: ImageView, parents: ReadonlySet<string>): boolean {
  return tagsOf(view).length === 0 && parents.has(view.id);
}

/** The ancestors of an image held here, nearest first. */
export function ancestors(view: ImageView, views: readonly ImageView[]): ImageView[] {
  const byId = new Map(views.map((v) => [v.id, v]));
  const out: ImageView[] = [];
  const seen = new Set<string>([view.id]);
  for (let p = byId.get(parentOf(view)); p !== undefined && !seen.has(p.id); p = byId.get(parentOf(p))) {
    seen.add(p.id);
    out.push(p);
  }
  return out;
}

/**
 * History rows (newest first) with the IDs and tags of the ancestors held
 * here: an ancestor's row is the newest of its own history (rowsOf: how
 * many rows its history has).
 */
export async function nameHistoryRows(rows: Record<string, unknown>[], view: ImageView, views: readonly ImageView[], rowsOf: (id: string) => Promise<number>): Promise<Record<string, unknown>[]> {
  const out = rows.map((r) => ({ ...r }));
  for (const p of ancestors(view, views)) {
    const at = rows.length - await rowsOf(p.id);
    if (at <= 0 || at >= rows.length) break;
    const tags = tagsOf(p);
    out[at] = { ...out[at], Id: p.id, Tags: tags.length > 0 ? tags : null };
  }
  return out;
}
