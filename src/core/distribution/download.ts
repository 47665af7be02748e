/**
 * A blob from a registry into a content writer, surviving cut connections:
 * after a failure while reading, the download starts again with a Range
 * request from the bytes already written (bounded attempts, exponential
 * backoff). The writer's commit checks size and digest, so a registry that
 * sends wrong bytes leaves nothing behind. A failure of the writer itself
 * (a full disk) is not retried.
 */
import { BerthError } from '../../common/errors.js';
import type { ContentInfo, ContentWriter } from '../content/types.js';
import type { Descriptor } from '../oci/types.js';
import type { RegistryClient } from './registry.js';

export interface DownloadOptions {
  /** how many times a download may start (the first included); default 5 */
  attempts?: number;
  /** pause before the second attempt, doubled after each failure; default 500 ms */
  backoffMs?: number;
  /** called after every chunk written */
  onProgress?: (written: number, total: number) => void;
  labels?: Record<string, string>;
}

const MAX_BACKOFF_MS = 10_000;

/** Failure of the source, not of the writer: worth another attempt. */
class SourceFailure extends Error {
  constructor(readonly error: unknown) { super('source failed'); }
}

/** Copies from `progress.offset` on; `progress.offset` follows every chunk written, so a failure leaves the resume point. */
async function copyFrom(client: RegistryClient, repo: string, desc: Descriptor, writer: ContentWriter, progress: { offset: number }, onProgress?: DownloadOptions['onProgress']): Promise<void> {
  let stream;
  try {
    stream = await client.fetchBlob(repo, desc, progress.offset);
  } catch (err) {
    throw new SourceFailure(err);
  }
  const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await iterator.next();
    } catch (err) {
      throw new SourceFailure(new BerthError('unavailable', `connection lost after ${progress.offset} of ${desc.size} bytes`, { cause: err }));
    }
    if (next.done) return;
    let chunk = next.value;
    if (progress.offset + chunk.length > desc.size) {
      // more bytes than the descriptor says: keep exactly desc.size, and let the digest decide
      chunk = chunk.subarray(0, desc.size - progress.offset);
    }
    await writer.write(chunk);
    progress.offset += chunk.length;
    onProgress?.(progress.offset, desc.size);
    if (progress.offset >= desc.size) { stream.destroy(); return; }
  }
}

/**
 * Downloads `desc` from `repo` into `writer` (resuming at `writer.offset`)
 * and commits it. Gives up after `attempts` failures of the source with the
 * last error (`unavailable`); closes the writer (keeping the ingest, so a
 * later pull resumes) when it gives up.
 */
export async function downloadBlob(client: RegistryClient, repo: string, desc: Descriptor, writer: ContentWriter, opts: DownloadOptions = {}): Promise<ContentInfo> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  const backoff = opts.backoffMs ?? 500;
  const progress = { offset: writer.offset };
  let lastError: unknown;
  let made = 0;
  for (let attempt = 1; attempt <= attempts && progress.offset < desc.size; attempt++) {
    made = attempt;
    if (attempt > 1) await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, backoff * 2 ** (attempt - 2))));
    try {
      await copyFrom(client, repo, desc, writer, progress, opts.onProgress);
      if (progress.offset < desc.size) lastError = new BerthError('unavailable', `connection closed after ${progress.offset} of ${desc.size} bytes`);
    } catch (err) {
      if (!(err instanceof SourceFailure)) { await writer.close().catch(() => undefined); throw err; }
      lastError = err.error;
      // a refusal (404, 401) will not change by asking again
      if (!(lastError instanceof BerthError && lastError.kind === 'unavailable')) {
        await writer.close().catch(() => undefined);
        throw lastError;
      }
    }
  }
  if (progress.offset < desc.size) {
    await writer.close().catch(() => undefined);
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    throw new BerthError('unavailable', `cannot download ${client.host}/${repo}@${desc.digest}: gave up after ${made} attempts: ${why}`, { cause: lastError });
  }
  return writer.commit(desc.size, desc.digest, opts.labels);
}
