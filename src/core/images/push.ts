/**
 * Push: every blob reachable from an image's target that the store holds —
 * layers and config first (skipped when the registry has them, mounted from
 * another repository of the same registry when the blob came from there,
 * else uploaded), then each manifest, the index last, so the registry never
 * holds a manifest whose blobs are missing.
 */
import { BerthError, notFound } from '../../common/errors.js';
import type { ContentStore } from '../content/types.js';
import { formatReference, manifestSelector, type Reference } from '../distribution/reference.js';
import { isIndexMediaType, isManifestMediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/types.js';
import { runLimited } from './limit.js';
import { SOURCE_LABEL_PREFIX, type Remote } from './remote.js';

export type PushStatus = 'checking' | 'exists' | 'mounted' | 'uploading' | 'done';

export interface PushEvent { digest: string; status: PushStatus; current: number; total: number; mediaType: string }

export interface PushOptions {
  namespace: string;
  progress?: (e: PushEvent) => void;
  concurrency?: number;
}

class PushRun {
  constructor(private readonly content: ContentStore, private readonly remote: Remote, private readonly repo: string, private readonly opts: PushOptions) {}

  private emit(d: Descriptor, status: PushStatus, current = 0): void {
    this.opts.progress?.({ digest: d.digest, status, current, total: d.size, mediaType: d.mediaType });
  }

  /** Where this blob came from on the same registry, for a mount. */
  private mountSource(d: Descriptor): string | undefined {
    const labels = this.content.info(this.opts.namespace, d.digest).labels;
    const from = labels[`${SOURCE_LABEL_PREFIX}${this.remote.domain}`];
    return from !== undefined && from !== this.repo ? from : undefined;
  }

  async blob(d: Descriptor): Promise<void> {
    if (!this.content.has(this.opts.namespace, d.digest)) throw notFound(`blob ${d.digest} is not in the content store`);
    this.emit(d, 'checking');
    if (await this.remote.blobExists(this.repo, d)) { this.emit(d, 'exists', d.size); return; }
    const from = this.mountSource(d);
    if (from !== undefined && await this.remote.mountBlob(this.repo, from, d)) { this.emit(d, 'mounted', d.size); return; }
    this.emit(d, 'uploading');
    await this.remote.uploadBlob(this.repo, d, (offset) => this.content.reader(this.opts.namespace, d.digest, offset));
    this.emit(d, 'done', d.size);
  }

  async manifest(d: Descriptor, selector: string): Promise<void> {
    const body = await this.content.readBlob(this.opts.namespace, d.digest);
    const m = JSON.parse(body.toString('utf8')) as ImageManifest;
    await runLimited(this.opts.concurrency ?? 3, [m.config, ...(m.layers ?? [])].map((b) => () => this.blob(b)));
    await this.remote.putManifest(this.repo, selector, d.mediaType, body);
    this.emit(d, 'done', d.size);
  }

  async index(d: Descriptor, selector: string): Promise<void> {
    const body = await this.content.readBlob(this.opts.namespace, d.digest);
    const index = JSON.parse(body.toString('utf8')) as ImageIndex;
    const held = index.manifests.filter((m) => this.content.has(this.opts.namespace, m.digest));
    if (held.length === 0) throw notFound(`no manifest of index ${d.digest} is in the content store`);
    // only the manifests held locally (a pull fetches one platform): the registry takes the index as it is
    for (const m of held) {
      if (isIndexMediaType(m.mediaType)) await this.index(m, m.digest);
      else await this.manifest(m, m.digest);
    }
    await this.remote.putManifest(this.repo, selector, d.mediaType, body);
    this.emit(d, 'done', d.size);
  }
}

/** Pushes the image whose target is `target` to `ref` (its tag, or its digest when the reference has no tag). */
export async function push(content: ContentStore, remote: Remote, ref: Reference, target: Descriptor, opts: PushOptions): Promise<void> {
  const run = new PushRun(content, remote, ref.path, opts);
  const selector = ref.tag ?? manifestSelector(ref);
  try {
    if (isIndexMediaType(target.mediaType)) await run.index(target, selector);
    else if (isManifestMediaType(target.mediaType)) await run.manifest(target, selector);
    else throw new BerthError('invalid-argument', `unsupported media type ${target.mediaType}`);
  } catch (err) {
    if (err instanceof BerthError) throw new BerthError(err.kind, `cannot push ${formatReference(ref)}: ${err.message}`, { cause: err });
    throw new BerthError('internal', `cannot push ${formatReference(ref)}: ${(err as Error).message}`, { cause: err });
  }
}
