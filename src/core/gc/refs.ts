/**
 * The nodes of the garbage collector's graph and the references labels
 * express: `berth.gc.ref.content.<anything>` = a digest,
 * `berth.gc.ref.snapshot.<snapshotter>[.<anything>]` = a snapshot key of that
 * snapshotter. A value that is not a digest names nothing and is ignored.
 */
import { GC_REF_CONTENT_PREFIX, GC_REF_SNAPSHOT_PREFIX } from '../content/types.js';
import { isDigest } from '../content/digest.js';

export type GcNode =
  | { type: 'content'; digest: string }
  | { type: 'snapshot'; snapshotter: string; key: string };

export function labelRefs(labels: Record<string, string>): GcNode[] {
  const out: GcNode[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith(GC_REF_CONTENT_PREFIX)) {
      if (isDigest(v)) out.push({ type: 'content', digest: v });
    } else if (k.startsWith(GC_REF_SNAPSHOT_PREFIX)) {
      const snapshotter = k.slice(GC_REF_SNAPSHOT_PREFIX.length).split(/[./]/)[0]!;
      if (snapshotter !== '' && v !== '') out.push({ type: 'snapshot', snapshotter, key: v });
    }
  }
  return out;
}
