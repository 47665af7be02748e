/**
 * The build context: the tar the client sent (plain or gzip-compressed,
 * sniffed), made whole (context-tar.ts) and unpacked into a private
 * directory with the daemon's archive extractor (paths kept inside it,
 * owners root), and the Dockerfile read from it. The directory goes when
 * the build ends.
 */
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { BerthError } from '../../common/errors.js';
import { extractInto } from '../archive/extract.js';
import { resolveInRoot } from '../archive/resolve.js';
import { normalizedTar } from './context-tar.js';

/** The body with gzip taken off when it starts with gzip's magic bytes. */
export async function* decompressed(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = body[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 2) {
    const r = await it.next();
    if (r.done) break;
    head = Buffer.concat([head, r.value]);
  }
  const rest = (async function* () { if (head.length > 0) yield head; for (;;) { const r = await it.next(); if (r.done) return; yield r.value; } })();
  if (head[0] === 0x1f && head[1] === 0x8b) {
    yield* Readable.from(rest).pipe(createGunzip()) as AsyncIterable<Buffer>;
  } else yield* rest;
}

/**
 * Unpacks the context into dir (made here). A body that is not a tar (cut
 * short, corrupt, bad gzip) is the client's fault: 400 naming it. A system
 * error while writing (a full disk) stays the daemon's.
 */
export async function unpackContext(body: AsyncIterable<Buffer>, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    await extractInto(dir, '/', normalizedTar(decompressed(body)), { noOverwriteDirNonDir: false, copyUIDGID: false });
  } catch (err) {
    if (err instanceof BerthError || (err as NodeJS.ErrnoException).syscall !== undefined) throw err;
    throw new BerthError('invalid-argument', `invalid build context: not a tar archive (plain or gzip): ${(err as Error).message}`);
  }
}

/**
 * The Dockerfile's text: `name` inside the context (dockerd also takes
 * `dockerfile` for the default name); dockerd's message when there is none.
 */
export function readDockerfile(dir: string, name: string): { text: string; name: string } {
  const wanted = name === '' ? 'Dockerfile' : name;
  const candidates = name === '' || name === 'Dockerfile' ? ['Dockerfile', 'dockerfile'] : [wanted];
  for (const c of candidates) {
    // resolved inside the context: a Dockerfile that is a symlink cannot make us read a host file
    const p = resolveInRoot(dir, posix.normalize(`/${c}`).slice(1), true).host;
    try {
      if (statSync(p).isFile()) return { text: readFileSync(p, 'utf8'), name: c };
    } catch { /* next */ }
  }
  // dockerd answers 500; a request without its Dockerfile is the client's fault, and clients show only the message
  throw new BerthError('invalid-argument', `Cannot locate specified Dockerfile: ${wanted}`);
}

export function removeContext(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
