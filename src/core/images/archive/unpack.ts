/**
 * Unpacking an image whose blobs are already in the content store (a load)
 * into snapshots named by chain ID, layer after layer; a chain already
 * committed is reused. The extract snapshots this makes are held by the
 * caller's lease and removed when a layer fails.
 */
import { randomUUID } from 'node:crypto';
import { BerthError, failedPrecondition } from '../../../common/errors.js';
import type { ContentStore } from '../../content/types.js';
import type { Descriptor } from '../../oci/types.js';
import { SNAPSHOT_DIFF_ID_LABEL, type Snapshotter } from '../../snapshots/types.js';
import { applyLayer } from '../../unpack/apply.js';
import { chainIds } from '../chainid.js';
import type { LayerSizes } from '../layer-sizes.js';

export interface UnpackTarget {
  namespace: string;
  content: ContentStore;
  layerSizes: LayerSizes;
  snapshotter: Snapshotter;
  /** holds a snapshot key under the caller's lease */
  hold(key: string): void;
}

function exists(sn: Snapshotter, ns: string, key: string): boolean {
  try { sn.stat(ns, key); return true; } catch (err) {
    if (err instanceof BerthError && err.kind === 'not-found') return false;
    throw err;
  }
}

/** Applies one stored layer over parent into a new snapshot committed as chainId. */
async function unpackLayer(t: UnpackTarget, layer: Descriptor, diffId: string, parent: string, chainId: string): Promise<void> {
  const { snapshotter: sn, namespace: ns } = t;
  const key = `extract-${randomUUID()}`;
  t.hold(key);
  await sn.prepare(ns, key, parent, {});
  let committed = false;
  try {
    const target = sn.applyTarget(ns, key);
    const { diffId: got, unpackedSize } = await applyLayer(t.content.reader(ns, layer.digest), { mediaType: layer.mediaType, dir: target.dir, whiteouts: target.whiteouts, digest: layer.digest });
    if (got !== diffId) throw failedPrecondition(`layer ${layer.digest}: uncompressed digest ${got} does not match the config's diff id ${diffId}`);
    t.layerSizes.record(diffId, unpackedSize);
    try {
      await sn.commit(ns, chainId, key, { [SNAPSHOT_DIFF_ID_LABEL]: diffId });
      committed = true;
    } catch (err) {
      // committed meanwhile by a pull or another load: theirs is the same
      if (!(err instanceof BerthError && err.kind === 'already-exists')) throw err;
    }
  } finally {
    if (!committed) await sn.remove(ns, key).catch(() => undefined);
  }
}

/** Unpacks layers (in order) into chain-ID snapshots; returns the top chain ID ("" for none). */
export async function unpackStored(t: UnpackTarget, layers: Descriptor[], diffIds: string[]): Promise<string> {
  if (layers.length !== diffIds.length) throw failedPrecondition(`the config lists ${diffIds.length} diff ids for ${layers.length} layers`);
  const chain = chainIds(diffIds);
  for (let i = 0; i < layers.length; i++) {
    t.hold(chain[i]!);
    if (exists(t.snapshotter, t.namespace, chain[i]!)) continue;
    await unpackLayer(t, layers[i]!, diffIds[i]!, i === 0 ? '' : chain[i - 1]!, chain[i]!);
  }
  return chain.at(-1) ?? '';
}
