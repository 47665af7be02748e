/**
 * One open ingest: bytes appended to `<ingest dir>/data` and hashed as they
 * go. Resuming re-hashes the prefix already on disk (a hash's state cannot be
 * saved), so a writer can start where a closed writer or a dead core left
 * off. Commit fsyncs the data, checks size and digest, and hands the file to
 * the store to be placed; a mismatch removes the ingest.
 *
 * Writes go behind: `write` returns once its chunk is hashed and queued,
 * while up to WRITE_BEHIND bytes are still on their way to the file, so a
 * download reads the socket while the thread pool writes (a pull waited for
 * every write before reading on). Nothing is acknowledged before commit,
 * which waits for every queued write and fsyncs; a failed write fails the
 * next write or the commit, and the writes queued after it are dropped, so
 * the file holds a prefix of the blob for a later writer to resume from.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { BerthError, failedPrecondition, wrap } from '../../common/errors.js';
import { checkDigest } from './digest.js';
import type { ContentInfo, ContentWriter } from './types.js';

/** What the store gives a writer: its files, and the metadata steps it may take. */
export interface IngestSite {
  readonly ref: string;
  readonly dataPath: string;
  /** the digest and size given when the ingest was started ("" and 0 when unknown) */
  readonly expected: string;
  readonly total: number;
  /**
   * Synchronously moves the verified file into place and records the blob
   * (so nothing else in this process runs between the two); throws
   * `already-exists` when the namespace already holds it.
   */
  place(digest: string, size: number, labels: Record<string, string>): ContentInfo;
  /** removes the ingest's directory and row */
  discard(): void;
  /** records that the ingest was used now */
  touch(): void;
  /** lets another writer open the ref */
  release(): void;
}

const READ_CHUNK = 1 << 20;
/** Bytes a writer may have queued but not yet written. */
const WRITE_BEHIND = 8 << 20;

async function hashPrefix(fh: FileHandle, hash: Hash): Promise<number> {
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) return pos;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

async function writeAt(fh: FileHandle, chunk: Buffer, pos: number): Promise<void> {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, pos + done);
    done += bytesWritten;
  }
}

class IngestWriter implements ContentWriter {
  private state: 'open' | 'done' = 'open';
  /** the last queued write, settled (writes run one after another, in call order) */
  private pending: Promise<void> = Promise.resolve();
  /** bytes queued and not yet written, and the writes holding them (oldest first) */
  private behind = 0;
  private readonly queued: Promise<void>[] = [];
  /** the first write that failed: the writes after it are dropped */
  private failure: unknown;

  constructor(
    private readonly site: IngestSite,
    private readonly fh: FileHandle,
    private readonly hash: Hash,
    private written: number,
  ) {}

  get ref(): string { return this.site.ref; }
  get offset(): number { return this.written; }

  private ensureOpen(verb: string): void {
    if (this.state !== 'open') throw failedPrecondition(`cannot ${verb} ref ${this.ref}: the writer is closed`);
  }

  async write(chunk: Buffer): Promise<void> {
    this.ensureOpen('write');
    await this.failIfFailed();
    const { total } = this.site;
    if (total > 0 && this.written + chunk.length > total) {
      await this.abandon(true);
      throw failedPrecondition(`cannot write ref ${this.ref}: more than the expected ${total} bytes`);
    }
    // position and hash are taken now, so writes stay in call order even when not awaited
    const pos = this.written;
    this.written += chunk.length;
    this.hash.update(chunk);
    this.behind += chunk.length;
    const p = this.pending.then(() => {
      if (this.failure === undefined) return writeAt(this.fh, chunk, pos);
    }).catch((err: unknown) => { this.failure ??= err; }).finally(() => { this.behind -= chunk.length; this.queued.shift(); });
    this.pending = p;
    this.queued.push(p);
    while (this.behind > WRITE_BEHIND && this.queued.length > 0) await this.queued[0];
    await this.failIfFailed();
  }

  /** A queued write failed: the hash is ahead of the file, so this writer is done (a new one re-hashes the file). */
  private async failIfFailed(): Promise<void> {
    if (this.failure === undefined) return;
    if (this.state === 'open') await this.abandon(false);
    throw wrap(`cannot write ref ${this.ref}`, this.failure);
  }

  async commit(size: number, expected: string, labels: Record<string, string> = {}): Promise<ContentInfo> {
    this.ensureOpen('commit');
    checkDigest(expected);
    this.state = 'done';
    try {
      await this.pending;
      if (this.failure !== undefined) throw wrap(`cannot write ref ${this.ref}`, this.failure);
      await this.fh.sync();
      await this.fh.close();
    } catch (err) {
      await this.fh.close().catch(() => undefined);
      this.site.release();
      throw wrap(`cannot commit ref ${this.ref}`, err);
    }
    try {
      this.verify(size, expected);
      return this.site.place(expected, this.written, labels);
    } catch (err) {
      if (err instanceof BerthError && err.kind === 'failed-precondition') this.site.discard();
      throw err;
    } finally {
      this.site.release();
    }
  }

  private verify(size: number, expected: string): void {
    const actual = `sha256:${this.hash.digest('hex')}`;
    for (const want of [size, this.site.total]) {
      if (want > 0 && want !== this.written) {
        throw failedPrecondition(`cannot commit ref ${this.ref}: size mismatch: expected ${want} bytes, got ${this.written}`);
      }
    }
    for (const want of [expected, this.site.expected]) {
      if (want !== '' && want !== actual) {
        throw failedPrecondition(`cannot commit ref ${this.ref}: digest mismatch: expected ${want}, got ${actual}`);
      }
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    await this.abandon(false);
  }

  /** The ingest's time, best effort: on a full disk the metadata write fails too, and the caller's error (ENOSPC) is the one to report. */
  private touchQuietly(): void {
    try { this.site.touch(); } catch { /* the ingest keeps its older time */ }
  }

  /** Ends the writer; the ingest stays for a later writer unless discard. */
  private async abandon(discard: boolean): Promise<void> {
    this.state = 'done';
    try {
      await this.pending;
      await this.fh.close().catch(() => undefined);
      if (discard) this.site.discard();
      else this.touchQuietly();
    } finally {
      this.site.release();
    }
  }
}

/** Opens the ingest's data file (creating it when new) and hashes what it holds. */
export async function openIngestWriter(site: IngestSite): Promise<ContentWriter> {
  let fh: FileHandle | undefined;
  try {
    // read-write without O_APPEND: writes go to explicit positions
    fh = await open(site.dataPath, constants.O_RDWR | constants.O_CREAT, 0o600);
    const hash = createHash('sha256');
    const offset = await hashPrefix(fh, hash);
    return new IngestWriter(site, fh, hash, offset);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    site.release();
    throw wrap(`cannot open ref ${site.ref}`, err);
  }
}
