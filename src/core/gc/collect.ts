/**
 * Garbage collection of the image half, mark and sweep per namespace.
 *
 * Roots: images' targets, content labelled `berth.gc.root`, containers'
 * snapshots and their images' targets, and what unexpired leases hold.
 * Edges: `berth.gc.ref.*` labels on content, snapshots, images and
 * containers, and a snapshot's parent (mark.ts).
 * Sweep: unmarked content, unmarked snapshots (children first), ingests
 * idle for a day that no lease holds, expired leases.
 *
 * The mark and the metadata sweep run synchronously (better-sqlite3 is
 * synchronous), so no call of the core changes the graph in between.
 * Removing a snapshot is asynchronous: each removal is preceded by a fresh
 * mark, so a reference added meanwhile (a lease, a new child) is honoured.
 * One collection runs at a time per database.
 */
import type { Logger } from '../../common/log.js';
import { GC_ROOT_LABEL, type ContentStore } from '../content/types.js';
import type { Db } from '../metadata/db.js';
import { decodeLabels } from '../metadata/labels.js';
import type { Snapshotter } from '../snapshots/types.js';
import { mark, unmarkedLeaf, type NamespaceGraph, type SnapshotNode } from './mark.js';
import { labelRefs, type GcNode } from './refs.js';

export interface GcReport {
  contentRemoved: number;
  snapshotsRemoved: number;
  /** bytes of blobs removed from disk, plus the usage of removed snapshots */
  bytesFreed: number;
  durationMs: number;
}

export interface GcDeps {
  db: Db;
  content: ContentStore;
  snapshotters: ReadonlyMap<string, Snapshotter>;
  log?: Logger;
}

/** Ingests idle this long, and held by no lease, are removed. */
export const INGEST_IDLE_MS = 24 * 60 * 60 * 1000;

const running = new WeakMap<Db, Promise<unknown>>();

function namespaces(db: Db): string[] {
  const rows = db.prepare(`SELECT name FROM namespaces UNION SELECT namespace FROM content
    UNION SELECT namespace FROM snapshots UNION SELECT namespace FROM images
    UNION SELECT namespace FROM leases UNION SELECT namespace FROM ingests ORDER BY 1`).all() as { name: string }[];
  return rows.map((r) => r.name);
}

interface LeaseHold { type: string; id: string }

function leaseHolds(db: Db, ns: string, now: number): LeaseHold[] {
  return db.prepare(`SELECT r.type AS type, r.resource_id AS id FROM lease_resources r
    JOIN leases l ON l.namespace = r.namespace AND l.id = r.lease_id
    WHERE r.namespace = ? AND (l.expires_at = 0 OR l.expires_at > ?)`).all(ns, now) as LeaseHold[];
}

function roots(deps: GcDeps, ns: string, content: ReadonlyMap<string, Record<string, string>>, holds: LeaseHold[]): GcNode[] {
  const out: GcNode[] = [];
  const images = deps.db.prepare('SELECT name, target_digest, labels FROM images WHERE namespace = ?')
    .all(ns) as { name: string; target_digest: string; labels: string }[];
  const targets = new Map(images.map((i) => [i.name, i.target_digest]));
  for (const i of images) out.push({ type: 'content', digest: i.target_digest }, ...labelRefs(decodeLabels(i.labels)));
  for (const [digest, labels] of content) if (GC_ROOT_LABEL in labels) out.push({ type: 'content', digest });
  const containers = deps.db.prepare('SELECT image, snapshotter, snapshot_key, labels FROM containers WHERE namespace = ?')
    .all(ns) as { image: string; snapshotter: string; snapshot_key: string; labels: string }[];
  for (const c of containers) {
    const target = targets.get(c.image);
    if (target !== undefined) out.push({ type: 'content', digest: target });
    if (c.snapshot_key !== '') {
      // a container from before snapshotters were recorded: its key is kept in every one
      const names = c.snapshotter !== '' ? [c.snapshotter] : [...deps.snapshotters.keys()];
      for (const snapshotter of names) out.push({ type: 'snapshot', snapshotter, key: c.snapshot_key });
    }
    out.push(...labelRefs(decodeLabels(c.labels)));
  }
  for (const h of holds) {
    if (h.type === 'content') out.push({ type: 'content', digest: h.id });
    else if (h.type.startsWith('snapshots/')) out.push({ type: 'snapshot', snapshotter: h.type.slice('snapshots/'.length), key: h.id });
  }
  return out;
}

function graph(deps: GcDeps, ns: string, now: number): NamespaceGraph {
  const content = new Map(deps.content.list(ns).map((c) => [c.digest, c.labels]));
  const snapshots = new Map<string, Map<string, SnapshotNode>>();
  for (const [name, s] of deps.snapshotters) {
    snapshots.set(name, new Map(s.list(ns).map((i) => [i.key, { parent: i.parent, labels: i.labels }])));
  }
  return { roots: roots(deps, ns, content, leaseHolds(deps.db, ns, now)), content, snapshots };
}

/** Unmarked content, idle unleased ingests, expired leases: all synchronous. */
function sweepMetadata(deps: GcDeps, ns: string, now: number, report: GcReport): void {
  const g = graph(deps, ns, now);
  const marked = mark(g);
  const holders = deps.db.prepare('SELECT COUNT(*) AS n FROM content WHERE digest = ?');
  for (const digest of g.content.keys()) {
    if (marked.content.has(digest)) continue;
    const { size } = deps.content.info(ns, digest);
    deps.content.delete(ns, digest);
    report.contentRemoved++;
    if ((holders.get(digest) as { n: number }).n === 0) report.bytesFreed += size;
    deps.log?.debug('gc: removed content', { namespace: ns, digest });
  }
  const leased = new Set(leaseHolds(deps.db, ns, now).filter((h) => h.type === 'ingests').map((h) => h.id));
  for (const s of deps.content.listStatuses(ns)) {
    if (leased.has(s.ref) || now - s.updatedAt <= INGEST_IDLE_MS) continue;
    try {
      deps.content.abort(ns, s.ref);
      deps.log?.debug('gc: removed idle ingest', { namespace: ns, ref: s.ref });
    } catch { /* a writer holds it now: not idle */ }
  }
  deps.db.transaction(() => {
    const expired = 'SELECT id FROM leases WHERE namespace = ? AND expires_at != 0 AND expires_at <= ?';
    deps.db.prepare(`DELETE FROM lease_resources WHERE namespace = ? AND lease_id IN (${expired})`).run(ns, ns, now);
    deps.db.prepare('DELETE FROM leases WHERE namespace = ? AND expires_at != 0 AND expires_at <= ?').run(ns, now);
  })();
}

async function sweepSnapshots(deps: GcDeps, ns: string, report: GcReport): Promise<void> {
  const failed = new Set<string>();
  for (;;) {
    const g = graph(deps, ns, Date.now());
    const victim = unmarkedLeaf(g, mark(g), failed);
    if (!victim) return;
    const s = deps.snapshotters.get(victim.snapshotter)!;
    try {
      const usage = await s.usage(ns, victim.key).catch(() => ({ size: 0 }));
      await s.remove(ns, victim.key);
      report.snapshotsRemoved++;
      report.bytesFreed += usage.size;
      deps.log?.debug('gc: removed snapshot', { namespace: ns, snapshotter: victim.snapshotter, key: victim.key });
    } catch (err) {
      failed.add(`${victim.snapshotter}\0${victim.key}`);
      deps.log?.warn('gc: cannot remove snapshot', { namespace: ns, snapshotter: victim.snapshotter, key: victim.key, error: String(err) });
    }
  }
}

async function collect(deps: GcDeps): Promise<GcReport> {
  const started = performance.now();
  const report: GcReport = { contentRemoved: 0, snapshotsRemoved: 0, bytesFreed: 0, durationMs: 0 };
  const now = Date.now();
  const all = namespaces(deps.db);
  for (const ns of all) sweepMetadata(deps, ns, now, report);
  for (const ns of all) await sweepSnapshots(deps, ns, report);
  report.durationMs = Math.round((performance.now() - started) * 10) / 10;
  deps.log?.info('garbage collected', { ...report });
  return report;
}

export async function collectGarbage(deps: GcDeps): Promise<GcReport> {
  const before = running.get(deps.db) ?? Promise.resolve();
  const run = before.catch(() => undefined).then(() => collect(deps));
  running.set(deps.db, run);
  return run;
}
