/**
 * Where the content store keeps its files under the core's root:
 * `content/blobs/sha256/<hex>` for blobs, `content/ingest/<id>/data` for an
 * ingest, `<id>` the sha256 of namespace and ref (a ref is any string; the
 * hash makes it a safe, fixed-length directory name).
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { hexOf } from './digest.js';

export interface ContentPaths {
  readonly blobs: string;
  readonly ingests: string;
  blob(digest: string): string;
  ingestDir(namespace: string, ref: string): string;
}

export function ingestId(namespace: string, ref: string): string {
  // the NUL keeps ("a", "bc") and ("ab", "c") apart
  return createHash('sha256').update(`${namespace}\0${ref}`).digest('hex');
}

export function contentPaths(root: string): ContentPaths {
  const blobs = join(root, 'content', 'blobs', 'sha256');
  const ingests = join(root, 'content', 'ingest');
  return {
    blobs,
    ingests,
    blob: (digest) => join(blobs, hexOf(digest)),
    ingestDir: (namespace, ref) => join(ingests, ingestId(namespace, ref)),
  };
}

/** Makes a rename or unlink in dir durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}
