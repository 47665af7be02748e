/**
 * The context `berth build` sends, made as the docker CLI makes it:
 * - a directory: walked in name order without following symlinks, what
 *   .dockerignore excludes left out (a skipped directory is still walked
 *   when an exception names something under it, but not archived itself),
 *   the Dockerfile and .dockerignore always kept; entries owned by 0:0,
 *   times in whole seconds, hard links archived once;
 * - stdin (`-`): a tar (plain or compressed) sent as it is, or else a
 *   Dockerfile, sent as the only file of a tar;
 * - a Dockerfile from stdin (`-f -`) or from outside the directory: added
 *   under a random `.dockerfile.<hex>` name, which .dockerignore then lists
 *   (the daemon drops it from what COPY sees).
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Header, Pack } from 'tar-stream';
import { crypto } from './builtins.js';
import { CliError } from './command.js';
import { keepBuildFiles, parseDockerignore, PatternMatcher, type MatchInfo } from '../common/dockerignore.js';

type TarHeader = Partial<Header> & { name: string };

/** One entry of a directory context: its path in the tar and on disk. */
export interface ContextEntry { rel: string; abs: string; st: Stats }

/** A Dockerfile that is not in the walked directory (stdin, or a path outside it). */
export interface ExtraDockerfile { name: string; text: Buffer }

const prepare = (message: string): CliError => new CliError(`unable to prepare context: ${message}`);

/** The context directory, symlinks resolved; it must be a directory. */
export function contextDir(given: string): string {
  let abs: string;
  try { abs = realpathSync(resolve(given)); } catch (e) {
    throw prepare(`unable to evaluate symlinks in context path: ${(e as NodeJS.ErrnoException).message}`);
  }
  if (!lstatSync(abs).isDirectory()) throw prepare(`context must be a directory: ${abs}`);
  return abs;
}

/**
 * The Dockerfile's path relative to the context: `-f` is relative to the
 * current directory, its default is the context's Dockerfile (or
 * `dockerfile` when only that exists); symlinks resolved. "-" stays "-".
 */
export function dockerfileRelPath(ctxDir: string, given: string): string {
  if (given === '-') return '-';
  let abs = given === '' ? join(ctxDir, 'Dockerfile') : resolve(given);
  if (given === '') {
    const lower = join(ctxDir, 'dockerfile');
    try { lstatSync(abs); } catch { try { lstatSync(lower); abs = lower; } catch { /* keep the default's name for the error */ } }
  }
  try { abs = realpathSync(abs); } catch {
    throw prepare(`unable to evaluate symlinks in Dockerfile path: lstat ${abs}: no such file or directory`);
  }
  return relative(ctxDir, abs);
}

/** .dockerignore's patterns (none without the file). */
export function readExcludes(ctxDir: string): string[] {
  let text: string;
  try { text = readFileSync(join(ctxDir, '.dockerignore'), 'utf8'); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return parseDockerignore(text);
}

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The entries a directory context sends, in the docker CLI's order. */
export function contextEntries(ctxDir: string, excludes: string[]): ContextEntry[] {
  const pm = new PatternMatcher(excludes);
  const out: ContextEntry[] = [];
  const walk = (dirRel: string, parent: MatchInfo | undefined): void => {
    const dirAbs = dirRel === '' ? ctxDir : join(ctxDir, dirRel);
    for (const name of readdirSync(dirAbs).sort(byBytes)) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const abs = join(dirAbs, name);
      const st = lstatSync(abs);
      const { skip, info } = pm.matchesUsingParentResults(rel, parent);
      if (skip) {
        if (st.isDirectory() && pm.descendInto(rel)) walk(rel, info);
        continue;
      }
      if (st.isSocket()) continue;
      out.push({ rel, abs, st });
      if (st.isDirectory()) walk(rel, info);
    }
  };
  walk('', undefined);
  return out;
}

/** The random name a Dockerfile from elsewhere gets inside the context. */
export function randomDockerfileName(): string {
  return `.dockerfile.${crypto().randomBytes(10).toString('hex')}`;
}

/** Needs PAX: a name that a plain header cannot hold (as Go's tar writer decides). */
function needsPax(s: string | undefined): boolean {
  return s !== undefined && (Buffer.byteLength(s) > 100 || /[^\x00-\x7f]/.test(s));
}

function headerOf(e: ContextEntry, links: Map<string, string>): TarHeader | undefined {
  const st = e.st;
  const base: TarHeader = { name: e.rel, mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000) };
  if (st.isDirectory()) return { ...base, name: `${e.rel}/`, type: 'directory' };
  if (st.nlink > 1 && !st.isDirectory()) {
    const key = `${st.dev}:${st.ino}`;
    const first = links.get(key);
    if (first !== undefined) return { ...base, type: 'link', linkname: first, size: 0 };
    links.set(key, e.rel);
  }
  if (st.isFile()) return { ...base, type: 'file', size: st.size };
  if (st.isSymbolicLink()) return { ...base, type: 'symlink' };
  if (st.isFIFO()) return { ...base, type: 'fifo' };
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    return { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: Math.floor(st.rdev / 256) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) };
  }
  return undefined;
}

function withPax(h: TarHeader): TarHeader {
  return needsPax(h.name) || needsPax(h.linkname ?? undefined) ? { ...h, pax: {} } : h;
}

function addBuffer(p: Pack, h: TarHeader, data: Buffer): Promise<void> {
  return new Promise((res, rej) => { p.entry(withPax({ ...h, size: data.length }), data, (err) => (err ? rej(err) : res())); });
}

/** A file's bytes into the tar, read as the pack drains; a file that shrank is padded to its header's size. */
async function addFile(p: Pack, h: TarHeader, abs: string): Promise<void> {
  const fh = await open(abs, 'r');
  try {
    const size = h.size ?? 0;
    await new Promise<void>((res, rej) => {
      const entry = p.entry(withPax(h), (err) => (err ? rej(err) : res()));
      let left = size;
      const pump = async (): Promise<void> => {
        while (left > 0) {
          const buf = Buffer.allocUnsafe(Math.min(left, 1 << 20));
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) { entry.write(Buffer.alloc(left)); left = 0; break; }
          left -= bytesRead;
          if (!entry.write(buf.subarray(0, bytesRead))) { entry.once('drain', () => { pump().catch(rej); }); return; }
        }
        entry.end(undefined);
      };
      pump().catch(rej);
    });
  } finally {
    await fh.close();
  }
}

/**
 * The tar of a directory context. With `extra`, .dockerignore (made when
 * absent) also lists the extra Dockerfile, which comes last.
 */
export async function packDirectory(entries: ContextEntry[], extra: ExtraDockerfile | undefined): Promise<AsyncIterable<Buffer>> {
  const { pack } = await import('tar-stream');
  const p = pack();
  const links = new Map<string, string>();
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const write = async (): Promise<void> => {
    let ignoreSeen = false;
    for (const e of entries) {
      const h = headerOf(e, links);
      if (!h) continue;
      if (extra && e.rel === '.dockerignore' && h.type === 'file') {
        ignoreSeen = true;
        await addBuffer(p, h, Buffer.concat([readFileSync(e.abs), Buffer.from(`\n${extra.name}\n`)]));
      } else if (h.type === 'file') await addFile(p, h, e.abs);
      else await new Promise<void>((res, rej) => { p.entry(withPax(e.st.isSymbolicLink() ? { ...h, linkname: readlinkSync(e.abs) } : h), (err) => (err ? rej(err) : res())); });
    }
    if (extra) {
      await addBuffer(p, { name: extra.name, mode: 0o600, uid: 0, gid: 0, mtime: now, type: 'file' }, extra.text);
      if (!ignoreSeen) await addBuffer(p, { name: '.dockerignore', mode: 0o600, uid: 0, gid: 0, mtime: now, type: 'file' }, Buffer.from(`.dockerignore\n${extra.name}\n`));
    }
    p.finalize();
  };
  write().catch((err: unknown) => p.destroy(err as Error));
  return p as AsyncIterable<Buffer>;
}

/** A Dockerfile alone (from stdin) as a context: one file named Dockerfile. */
export async function packDockerfile(text: Buffer): Promise<AsyncIterable<Buffer>> {
  const { pack } = await import('tar-stream');
  const p = pack();
  const h: TarHeader = {
    name: 'Dockerfile', type: 'file', mode: 0o666 & ~process.umask(), uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0,
    mtime: new Date(Math.floor(Date.now() / 1000) * 1000),
  };
  addBuffer(p, h, text).then(() => p.finalize(), (err: unknown) => p.destroy(err as Error));
  return p as AsyncIterable<Buffer>;
}

/**
 * Whether the first bytes of stdin are an archive: a compression's magic
 * (gzip, bzip2, xz, zstd) or a tar header whose checksum holds.
 */
export function isArchive(head: Buffer): boolean {
  const starts = (...b: number[]): boolean => b.every((x, i) => head[i] === x);
  if (starts(0x1f, 0x8b) || starts(0x42, 0x5a, 0x68) || starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00) || starts(0x28, 0xb5, 0x2f, 0xfd)) return true;
  if (head.length < 512) return false;
  const block = head.subarray(0, 512);
  if (block.every((x) => x === 0)) return false;
  const stored = parseInt(block.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  if (!Number.isFinite(stored)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  return stored === unsigned || stored === signed;
}

/** Whether a context argument names a local directory (the docker CLI's first test). */
export function isLocalDir(p: string): boolean {
  try { statSync(p); return true; } catch { return false; }
}

export const isURL = (s: string): boolean => /^https?:\/\//.test(s);

/** Whether a Dockerfile path lies outside the context (then it travels as an extra file). */
export const outsideContext = (rel: string): boolean => rel === '..' || rel.startsWith('../') || isAbsolute(rel);
