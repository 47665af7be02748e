/**
 * One open ingest: bytes appended to `<ingest dir>/data` and hashed as they
 * go. Resuming re-hashes the prefix already on disk (a hash's state cannot be
 * saved), so a writer can start where a closed writer or a dead core left
 * off. Commit fsyncs the data, checks size and digest, and hands the file to
 * the store to be placed; a mismatch removes the ingest.
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
  private pending: Promise<void> = Promise.resolve();

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
    const { total } = this.site;
    if (total > 0 && this.written + chunk.length > total) {
      await this.abandon(true);
      throw failedPrecondition(`cannot write ref ${this.ref}: more than the expected ${total} bytes`);
    }
    // position and hash are taken now, so writes stay in call order even when not awaited
    const pos = this.written;
    this.written += chunk.length;
    this.hash.update(chunk);
    const p = this.pending.then(() => writeAt(this.fh, chunk, pos));
    this.pending = p.catch(() => undefined);
    try {
      await p;
    } catch (err) {
      // the hash is now ahead of the file: this writer is done, a new one re-hashes the file
      await this.abandon(false);
      throw wrap(`cannot write ref ${this.ref}`, err);
    }
  }

  async commit(size: number, expected: string, labels: Record<string, string> = {}): Promise<ContentInfo> {
    this.ensureOpen('commit');
    checkDigest(expected);
    this.state = 'done';
    try {
      await this.pending;
      await this.fh.sync();
      await this.fh.close();
    } catch (err) {
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
