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

async function copyFrom(client: RegistryClient, repo: string, desc: Descriptor, writer: ContentWriter, start: number, onProgress?: DownloadOptions['onProgress']): Promise<number> {
  let offset = start;
  let stream;
  try {
    stream = await client.fetchBlob(repo, desc, offset);
  } catch (err) {
    throw new SourceFailure(err);
  }
  const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await iterator.next();
    } catch (err) {
      throw new SourceFailure(new BerthError('unavailable', `connection lost after ${offset} of ${desc.size} bytes`, { cause: err }));
    }
    if (next.done) return offset;
    let chunk = next.value;
    if (offset + chunk.length > desc.size) {
      // more bytes than the descriptor says: keep exactly desc.size, and let the digest decide
      chunk = chunk.subarray(0, desc.size - offset);
      stream.destroy();
    }
    await writer.write(chunk);
    offset += chunk.length;
    onProgress?.(offset, desc.size);
    if (offset >= desc.size) { stream.destroy(); return offset; }
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
  let offset = writer.offset;
  let lastError: unknown;
  let made = 0;
  for (let attempt = 1; attempt <= attempts && offset < desc.size; attempt++) {
    made = attempt;
    if (attempt > 1) await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, backoff * 2 ** (attempt - 2))));
    try {
      offset = await copyFrom(client, repo, desc, writer, offset, opts.onProgress);
      if (offset < desc.size) lastError = new BerthError('unavailable', `connection closed after ${offset} of ${desc.size} bytes`);
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
  if (offset < desc.size) {
    await writer.close().catch(() => undefined);
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    throw new BerthError('unavailable', `cannot download ${client.host}/${repo}@${desc.digest}: gave up after ${made} attempts: ${why}`, { cause: lastError });
  }
  return writer.commit(desc.size, desc.digest, opts.labels);
}
