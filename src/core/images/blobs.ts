/**
 * Copying one blob from a registry into the content store, optionally
 * feeding every byte to a second consumer in the same pass (the unpacker),
 * with resume from the bytes already written when the connection is cut.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { BerthError } from '../../common/errors.js';
import { describeNetworkError } from '../distribution/http.js';
import type { ContentStore, ContentWriter } from '../content/types.js';
import type { Descriptor } from '../oci/types.js';
import type { Remote } from './remote.js';

const ATTEMPTS = 4;

export interface CopyOptions {
  namespace: string;
  labels?: Record<string, string>;
  /** receives every byte in order (writes are awaited for backpressure); ended on success */
  tee?: Writable;
  /** bytes written so far */
  onProgress?: (current: number) => void;
}

const retriable = (err: unknown): boolean => !(err instanceof BerthError) || err.kind === 'unavailable';

async function feed(tee: Writable, chunk: Buffer): Promise<void> {
  if (tee.destroyed) throw tee.errored ?? new Error('the unpacker stopped reading');
  if (!tee.write(chunk)) await Promise.race([once(tee, 'drain'), once(tee, 'close').then(() => { throw tee.errored ?? new Error('the unpacker stopped reading'); })]);
}

/** The next chunk of a registry's body; a connection lost meanwhile is `unavailable` (worth a resume). */
async function nextChunk(it: AsyncIterator<Buffer>, desc: Descriptor, offset: number): Promise<IteratorResult<Buffer>> {
  try { return await it.next(); } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new BerthError('unavailable', `connection lost after ${offset} of ${desc.size} bytes: ${describeNetworkError(err)}`, { cause: err });
  }
}

/** Streams the rest of the blob into w (and tee), re-fetching from w's offset after a cut, a bounded number of times. */
async function stream(remote: Remote, repo: string, desc: Descriptor, w: ContentWriter, opts: CopyOptions, start: number): Promise<void> {
  let offset = start;
  for (let attempt = 1; ; attempt++) {
    try {
      const it = ((await remote.fetchBlob(repo, desc, offset)) as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      for (let next = await nextChunk(it, desc, offset); next.done !== true; next = await nextChunk(it, desc, offset)) {
        const chunk = next.value;
        await w.write(chunk);
        if (opts.tee) await feed(opts.tee, chunk);
        offset += chunk.length;
        opts.onProgress?.(offset);
      }
      if (offset >= desc.size) return;
      throw new BerthError('unavailable', `connection closed after ${offset} of ${desc.size} bytes`);
    } catch (err) {
      if (!retriable(err) || opts.tee?.destroyed) throw err;
      if (attempt >= ATTEMPTS) {
        throw new BerthError('unavailable', `cannot download blob ${desc.digest}: gave up after ${attempt} attempts: ${(err as Error).message}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/**
 * Downloads desc into the content store under ingest ref `fetch-<digest>`;
 * a ref left by an earlier cut pull resumes (only when there is no tee: the
 * tee must see the blob from its first byte).
 */
export async function copyBlob(content: ContentStore, remote: Remote, repo: string, desc: Descriptor, opts: CopyOptions): Promise<void> {
  const ref = `fetch-${desc.digest}`;
  let w: ContentWriter;
  try {
    w = await content.writer(opts.namespace, ref, { expected: desc.digest, total: desc.size });
  } catch (err) {
    if (err instanceof BerthError && err.kind === 'already-exists') { opts.tee?.end(); return; }
    throw err;
  }
  try {
    if (w.offset > 0 && opts.tee) {
      // the tee needs the whole blob: start the ingest over
      await w.close();
      content.abort(opts.namespace, ref);
      w = await content.writer(opts.namespace, ref, { expected: desc.digest, total: desc.size });
    }
    await stream(remote, repo, desc, w, opts, w.offset);
    await w.commit(desc.size, desc.digest, opts.labels);
    opts.tee?.end();
  } catch (err) {
    // a mismatch removed the ingest already; a cut one is kept for a resume
    await w.close().catch(() => undefined);
    if (err instanceof BerthError && err.kind === 'already-exists') { opts.tee?.end(); return; }
    throw err;
  }
}

/** A small blob (a config), read whole and verified by the store. */
export async function fetchSmallBlob(remote: Remote, repo: string, desc: Descriptor, limit = 16 << 20): Promise<Buffer> {
  if (desc.size > limit) throw new BerthError('failed-precondition', `blob ${desc.digest} of ${desc.size} bytes is larger than ${limit}`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of (await remote.fetchBlob(repo, desc)) as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) throw new BerthError('failed-precondition', `blob ${desc.digest} is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
