/** Containers as the core keeps them; implemented by metadata/containers.ts. */
import type { Labels } from '../namespaces/store.js';

export interface ContainerRecord {
  namespace: string;
  id: string;
  image: string;
  /** the OCI spec, JSON bytes (empty when none yet) */
  spec: Buffer;
  runtime: { name: string; options: Buffer };
  rootfs: string;
  snapshotKey: string;
  /** the snapshotter holding snapshotKey ("" when none) */
  snapshotter: string;
  labels: Labels;
  /** ms since the epoch */
  createdAt: number;
  updatedAt: number;
}

/** The fields Update may change. */
export type ContainerField = 'labels' | 'spec' | 'runtime' | 'snapshotKey' | 'snapshotter' | 'image' | 'rootfs';

export interface ContainerChange {
  /** fields replaced wholesale with the values in `values` */
  fields: ContainerField[];
  /** single labels: a string sets it, null removes it */
  labels: Record<string, string | null>;
  values: Partial<Pick<ContainerRecord, ContainerField>>;
}

export interface ContainerStore {
  get(namespace: string, id: string): ContainerRecord;
  list(namespace: string): ContainerRecord[];
  count(namespace: string): number;
  /** throws already-exists; createdAt/updatedAt are set by the store */
  create(record: Omit<ContainerRecord, 'createdAt' | 'updatedAt'>): ContainerRecord;
  update(namespace: string, id: string, change: ContainerChange): ContainerRecord;
  delete(namespace: string, id: string): void;
}
