/**
 * What pull and push need of a registry, narrowed to these calls so the
 * image logic does not depend on how the registry client is built; the
 * core wires `RegistryClient` (distribution/registry.ts) behind it.
 */
import type { Readable } from 'node:stream';
import type { Reference } from '../distribution/reference.js';
import type { Descriptor } from '../oci/types.js';

export interface Remote {
  /** the registry host, for messages and source labels ("127.0.0.1:5000", "docker.io") */
  readonly domain: string;
  /** the target descriptor a reference (on this registry) names */
  resolve(ref: Reference): Promise<Descriptor>;
  /** a manifest or index, digest verified */
  fetchManifest(repo: string, desc: Descriptor): Promise<Buffer>;
  /** a blob from offset (for resuming a cut download) */
  fetchBlob(repo: string, desc: Descriptor, offset?: number): Promise<Readable>;
  blobExists(repo: string, desc: Descriptor): Promise<boolean>;
  /** cross-repository mount; false when the registry did not mount it (the caller uploads then) */
  mountBlob(repo: string, from: string, desc: Descriptor): Promise<boolean>;
  /** body opens the blob from an offset (a chunked upload may restart one) */
  uploadBlob(repo: string, desc: Descriptor, body: (offset: number) => Readable): Promise<void>;
  putManifest(repo: string, selector: string, mediaType: string, body: Buffer): Promise<void>;
}

/** Label on a pulled blob naming the repository it came from, per registry: the cue for a cross-repository mount on push. */
export const SOURCE_LABEL_PREFIX = 'berth.distribution.source.';
