/**
 * An image's history as `docker image history` lists it (Engine API's
 * HistoryResponseItem): newest first; the top row carries the image ID and
 * tags, older rows "<missing>" (their layers are no images of their own);
 * a row's size is its layer's unpacked size (layer-sizes.ts), 0 for
 * empty_layer entries.
 */
import type { ResolvedImage } from './resolve.js';

export interface HistoryRow {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** layerSizes: the unpacked size of each of img's layers, in order. */
export function imageHistory(img: ResolvedImage, tags: string[], layerSizes: number[]): HistoryRow[] {
  const entries = img.config.history ?? [];
  const layers = layerSizes;
  let layer = 0;
  const rows: HistoryRow[] = entries.map((h) => {
    const size = h.empty_layer ? 0 : (layers[layer++] ?? 0);
    return {
      Id: '<missing>', Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0, CreatedBy: h.created_by ?? '',
      Tags: null, Size: size, Comment: h.comment ?? '',
    };
  });
  // layers the history does not account for (images built without history)
  for (; layer < layers.length; layer++) rows.push({ Id: '<missing>', Created: 0, CreatedBy: '', Tags: null, Size: layers[layer]!, Comment: '' });
  rows.reverse();
  if (rows.length === 0) rows.push({ Id: img.id, Created: 0, CreatedBy: '', Tags: tags, Size: 0, Comment: '' });
  rows[0] = { ...rows[0]!, Id: img.id, Tags: tags.length > 0 ? tags : null };
  return rows;
}
