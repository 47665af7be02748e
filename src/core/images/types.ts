/**
 * Images as the core keeps them: a name (a normalised reference such as
 * `docker.io/library/busybox:latest` or `host:5000/x@sha256:…`) pointing at
 * a target descriptor (an index or a manifest), with labels.
 */
import type { Descriptor } from '../oci/types.js';

export interface ImageRecord {
  namespace: string;
  name: string;
  target: Descriptor;
  labels: Record<string, string>;
  /** ms since the epoch */
  createdAt: number;
  updatedAt: number;
}

/** The fields Update may change. */
export type ImageField = 'target' | 'labels';

export interface ImageStore {
  get(namespace: string, name: string): ImageRecord;
  find(namespace: string, name: string): ImageRecord | undefined;
  /** filters as containers' (any filter matches; each a conjunction): name==, target.digest==, labels.K==V, labels.K */
  list(namespace: string, filters?: string[]): ImageRecord[];
  /** names (any namespace-local) whose target is digest */
  byTarget(namespace: string, digest: string): ImageRecord[];
  create(record: Omit<ImageRecord, 'createdAt' | 'updatedAt'>): ImageRecord;
  /** creates or replaces the target and labels of name (a pull or a tag) */
  put(record: Omit<ImageRecord, 'createdAt' | 'updatedAt'>): ImageRecord;
  update(namespace: string, name: string, values: Partial<Pick<ImageRecord, ImageField>>, fields?: string[]): ImageRecord;
  delete(namespace: string, name: string): void;
}
