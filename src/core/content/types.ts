/**
 * The content store's interface: sha256-addressed blobs, verified while they
 * are written. Blobs live once on disk (`<root>/content/blobs/sha256/<hex>`);
 * which namespace holds which blob, and its labels, is metadata (table
 * `content`). Ingests in progress (`<root>/content/ingest/…`, table
 * `ingests`) survive a restart and are resumed by ref.
 */
import type { Readable } from 'node:stream';

export interface ContentInfo {
  digest: string;
  size: number;
  labels: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

export interface IngestStatus {
  ref: string;
  /** bytes written so far (the resume point) */
  offset: number;
  /** expected size, 0 when unknown */
  total: number;
  /** expected digest, "" when unknown */
  expected: string;
  startedAt: number;
  updatedAt: number;
}

export interface WriterOptions {
  /** the digest the blob must have; a mismatch at commit leaves nothing behind */
  expected?: string;
  /** the size the blob must have, 0 or absent when unknown */
  total?: number;
}

/** An open ingest. `offset` starts where an earlier writer with the same ref stopped. */
export interface ContentWriter {
  readonly ref: string;
  readonly offset: number;
  write(chunk: Buffer): Promise<void>;
  /**
   * Verifies size and digest, moves the blob into place and records it in the
   * namespace. Throws `failed-precondition` on a mismatch and removes the
   * ingest. Committing a blob that already exists just adds it to the namespace.
   */
  commit(size: number, expected: string, labels?: Record<string, string>): Promise<ContentInfo>;
  /** Closes the writer, keeping the ingest so it can be resumed. */
  close(): Promise<void>;
}

export interface ContentStore {
  /** throws `not-found` when the namespace does not hold the blob */
  info(namespace: string, digest: string): ContentInfo;
  has(namespace: string, digest: string): boolean;
  list(namespace: string, filters?: string[]): ContentInfo[];
  /** replaces the labels (all of them, or only `fields` of the form "labels.KEY") */
  update(namespace: string, digest: string, labels: Record<string, string>, fields?: string[]): ContentInfo;
  /** removes the blob from the namespace (from disk when no namespace holds it) */
  delete(namespace: string, digest: string): void;
  /** a stream of the blob from offset */
  reader(namespace: string, digest: string, offset?: number): Readable;
  /** the whole blob, for small ones (manifests, configs) */
  readBlob(namespace: string, digest: string): Promise<Buffer>;
  /** opens (or resumes) the ingest named ref; `already-exists` when the expected blob is already held */
  writer(namespace: string, ref: string, options?: WriterOptions): Promise<ContentWriter>;
  /** writes a whole small blob in one call, verified against expected when given */
  writeBlob(namespace: string, data: Buffer, expected?: string, labels?: Record<string, string>): Promise<ContentInfo>;
  status(namespace: string, ref: string): IngestStatus;
  listStatuses(namespace: string): IngestStatus[];
  abort(namespace: string, ref: string): void;
}

/** Label naming a blob a root for garbage collection (never collected). */
export const GC_ROOT_LABEL = 'berth.gc.root';
/** Label prefix: `berth.gc.ref.content.<anything>` = a digest this object keeps alive. */
export const GC_REF_CONTENT_PREFIX = 'berth.gc.ref.content.';
/** Label prefix: `berth.gc.ref.snapshot.<snapshotter>` = a snapshot key this object keeps alive. */
export const GC_REF_SNAPSHOT_PREFIX = 'berth.gc.ref.snapshot.';
