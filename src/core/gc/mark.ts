/**
 * Mark: everything reachable from the roots of one namespace, following
 * label references and snapshot parents. Pure, so the rules are tested
 * without files; the graph is read by collect.ts.
 */
import { labelRefs, type GcNode } from './refs.js';

export interface SnapshotNode { parent: string; labels: Record<string, string> }

export interface NamespaceGraph {
  roots: GcNode[];
  /** the namespace's content: digest → labels */
  content: ReadonlyMap<string, Record<string, string>>;
  /** snapshotter → key → the snapshot */
  snapshots: ReadonlyMap<string, ReadonlyMap<string, SnapshotNode>>;
}

export interface Marked {
  content: Set<string>;
  /** snapshotter → marked keys */
  snapshots: Map<string, Set<string>>;
}

export function snapshotMarked(m: Marked, snapshotter: string, key: string): boolean {
  return m.snapshots.get(snapshotter)?.has(key) ?? false;
}

export function mark(g: NamespaceGraph): Marked {
  const m: Marked = { content: new Set(), snapshots: new Map() };
  const queue: GcNode[] = [...g.roots];
  for (let node = queue.pop(); node !== undefined; node = queue.pop()) {
    if (node.type === 'content') {
      if (m.content.has(node.digest)) continue;
      m.content.add(node.digest);
      const labels = g.content.get(node.digest);
      if (labels) queue.push(...labelRefs(labels));
      continue;
    }
    const { snapshotter, key } = node;
    if (snapshotMarked(m, snapshotter, key)) continue;
    let keys = m.snapshots.get(snapshotter);
    if (!keys) m.snapshots.set(snapshotter, (keys = new Set()));
    keys.add(key);
    const snap = g.snapshots.get(snapshotter)?.get(key);
    if (!snap) continue;
    if (snap.parent !== '') queue.push({ type: 'snapshot', snapshotter, key: snap.parent });
    queue.push(...labelRefs(snap.labels));
  }
  return m;
}

/**
 * An unmarked snapshot no other snapshot stands on (children go before
 * parents), skipping those whose removal already failed.
 */
export function unmarkedLeaf(g: NamespaceGraph, m: Marked, skip: ReadonlySet<string>): { snapshotter: string; key: string } | undefined {
  for (const [snapshotter, snaps] of g.snapshots) {
    const parents = new Set([...snaps.values()].map((s) => s.parent));
    for (const key of [...snaps.keys()].sort()) {
      if (snapshotMarked(m, snapshotter, key) || parents.has(key) || skip.has(`${snapshotter}\0${key}`)) continue;
      return { snapshotter, key };
    }
  }
  return undefined;
}
