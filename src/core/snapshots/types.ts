/**
 * The snapshotter interface (containerd's model): committed snapshots are
 * read-only layers named by the caller (chain IDs for image layers); an
 * active snapshot is a read-write layer over a committed parent, for
 * unpacking a layer or for a container; a view is a read-only one. Metadata
 * is the `snapshots` table; each snapshotter keeps its directories under
 * `<root>/snapshots/<name>/<backing_id>/`.
 */

export type SnapshotKind = 'committed' | 'active' | 'view';

export interface SnapshotInfo {
  key: string;
  /** the committed snapshot this one is over, "" for none */
  parent: string;
  kind: SnapshotKind;
  labels: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

/** One mount, as mount(8) and the OCI spec's `mounts` express it. */
export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface SnapshotUsage {
  size: number;
  inodes: number;
}

export interface Snapshotter {
  /** "overlayfs" or "native" */
  readonly name: string;
  stat(namespace: string, key: string): SnapshotInfo;
  list(namespace: string, filters?: string[]): SnapshotInfo[];
  update(namespace: string, key: string, labels: Record<string, string>, fields?: string[]): SnapshotInfo;
  usage(namespace: string, key: string): Promise<SnapshotUsage>;
  /** the mounts that give an active snapshot or a view its filesystem */
  mounts(namespace: string, key: string): Mount[];
  /** a new active snapshot over parent ("" for an empty one) */
  prepare(namespace: string, key: string, parent: string, labels?: Record<string, string>): Promise<Mount[]>;
  view(namespace: string, key: string, parent: string, labels?: Record<string, string>): Promise<Mount[]>;
  /** turns active snapshot `key` into committed snapshot `name` */
  commit(namespace: string, name: string, key: string, labels?: Record<string, string>): Promise<void>;
  /**
   * Where unpacking a layer into active snapshot `key` writes, and how it
   * expresses deletions: overlay's form (0/0 character devices, the opaque
   * xattr) in an overlay upper directory, or real deletions in a full copy.
   */
  applyTarget(namespace: string, key: string): { dir: string; whiteouts: 'overlay' | 'delete' };
  /** `failed-precondition` while another snapshot has it as parent */
  remove(namespace: string, key: string): Promise<void>;
}

/** Snapshot label naming the uncompressed digest of the layer a committed snapshot holds. */
export const SNAPSHOT_DIFF_ID_LABEL = 'berth.snapshot.diff-id';
