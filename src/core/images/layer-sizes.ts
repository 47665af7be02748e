/**
 * Each layer's unpacked size (unpack/unpacked-size.ts: what dockerd shows),
 * kept in the `layer_sizes` table by diff ID. Pull, load, import and commit
 * record it when they apply a layer. A layer unpacked before the table
 * existed (an older data root) has no row: the first image call that needs
 * it measures the stored blob once, checks its diff ID, and records it.
 *
 * Why a table keyed by diff ID rather than a content label: the size belongs
 * to the uncompressed bytes, which the diff ID names; one row serves every
 * namespace and every compressed form of the layer (a layer pulled gzip and
 * loaded plain, or pulled where its snapshot already existed and its blob
 * was never fetched), and it never shows among the users' content labels.
 * A row outliving its layer is still true, and a few bytes.
 */
import type { Logger } from '../../common/log.js';
import type { ContentStore } from '../content/types.js';
import type { Db } from '../metadata/db.js';
import { measureLayer } from '../unpack/unpacked-size.js';
import type { ResolvedImage } from './resolve.js';

export interface LayerSizes {
  get(diffId: string): number | undefined;
  /** records what applying the layer measured (one statement, its own transaction) */
  record(diffId: string, unpackedSize: number): void;
}

export function openLayerSizes(db: Db): LayerSizes {
  const select = db.prepare('SELECT unpacked_size AS n FROM layer_sizes WHERE diff_id = ?');
  const upsert = db.prepare(`INSERT INTO layer_sizes (diff_id, unpacked_size, measured_at) VALUES (?, ?, ?)
    ON CONFLICT (diff_id) DO UPDATE SET unpacked_size = excluded.unpacked_size, measured_at = excluded.measured_at`);
  return {
    get: (diffId) => (select.get(diffId) as { n: number } | undefined)?.n,
    record: (diffId, n) => { upsert.run(diffId, n, Date.now()); },
  };
}

export interface SizeDeps { content: ContentStore; layerSizes: LayerSizes; log?: Logger }

/** Measurements under way, so concurrent calls for one old layer read its blob once. */
const measuring = new Map<string, Promise<number | undefined>>();

/** Measures layer i of img from its blob and records it; undefined when the blob is not here or is not that layer. */
async function measure(deps: SizeDeps, img: ResolvedImage, i: number, diffId: string): Promise<number | undefined> {
  const ns = img.record.namespace;
  const blob = img.manifest.layers[i];
  if (!blob || !deps.content.has(ns, blob.digest)) return undefined;
  const got = await measureLayer(deps.content.reader(ns, blob.digest), blob.mediaType);
  if (got.diffId !== diffId) {
    deps.log?.warn('a layer blob does not hold its diff id: its unpacked size is not recorded', { layer: blob.digest, diffId, got: got.diffId });
    return undefined;
  }
  deps.layerSizes.record(diffId, got.unpackedSize);
  return got.unpackedSize;
}

function measureOnce(deps: SizeDeps, img: ResolvedImage, i: number, diffId: string): Promise<number | undefined> {
  let p = measuring.get(diffId);
  if (!p) {
    p = measure(deps, img, i, diffId).finally(() => measuring.delete(diffId));
    measuring.set(diffId, p);
  }
  return p;
}

/**
 * The unpacked size of each of img's layers, in the config's diff ID order.
 * A layer neither recorded nor measurable (its blob is not in this
 * namespace) shows its compressed size, as before the sizes were kept.
 */
export async function unpackedSizes(deps: SizeDeps, img: ResolvedImage): Promise<number[]> {
  const diffIds = img.config.rootfs?.diff_ids ?? [];
  return Promise.all(diffIds.map(async (diffId, i) => {
    const known = deps.layerSizes.get(diffId);
    if (known !== undefined) return known;
    const measured = await measureOnce(deps, img, i, diffId).catch((err: unknown) => {
      deps.log?.warn('cannot measure a layer\'s unpacked size', { diffId, error: (err as Error).message });
      return undefined;
    });
    return measured ?? img.manifest.layers[i]?.size ?? 0;
  }));
}
