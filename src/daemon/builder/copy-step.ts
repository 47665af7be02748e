/**
 * COPY and ADD: the sources (from the context, from another stage's or
 * image's files with --from, from a URL for ADD) resolved and hashed, the
 * cache asked with the step's `#(nop) COPY <hash> in <dest>` comment, then
 * one tar of them put into a created (never started) container of the
 * image so far and committed, as dockerd's builder writes its layer.
 */
import { createWriteStream, mkdirSync, utimesSync, chmodSync } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { BerthError, invalidArgument } from '../../common/errors.js';
import { extractInto } from '../archive/extract.js';
import { copyTar, type Owner } from './copy-tar.js';
import type { Instruction } from './instructions.js';
import { checkMultiDest, cleanInside, hasGlob, resolveSources, sourcesHash, type Source } from './sources.js';
import { copyConfig, shellOf, type DispatchState } from './state.js';
import type { StepRunner } from './steps.js';

type CopyIns = Extract<Instruction, { kind: 'copy' | 'add' }>;

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

let seq = 0;

/** A fresh directory under the build's own. */
function scratchDir(r: StepRunner, what: string): string {
  const d = posix.join(r.workDir, `${what}-${++seq}`);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  return d;
}

/** ADD <url>: the file fetched into a directory of its own (mode 0600, its Last-Modified time). */
async function fetchUrl(r: StepRunner, url: string): Promise<Source[]> {
  const res = await fetch(url, { signal: r.signal }).catch((err: unknown) => { throw invalidArgument(`failed to GET ${url}: ${(err as Error).message}`); });
  if (!res.ok || res.body === null) throw invalidArgument(`failed to GET ${url} with status ${res.status} ${res.statusText}`);
  const name = posix.basename(new URL(url).pathname) || 'index.html';
  const dir = scratchDir(r, 'url');
  const file = posix.join(dir, name);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), createWriteStream(file, { mode: 0o600 }));
  chmodSync(file, 0o600);
  const modified = Date.parse(res.headers.get('last-modified') ?? '');
  if (!Number.isNaN(modified)) utimesSync(file, modified / 1000, modified / 1000);
  return resolveSources(dir, name, 'ADD');
}

/** The directory of a pattern before its first wildcard ("" for the root). */
const fixedPrefix = (p: string): string => {
  const parts = cleanInside(p).split('/');
  const at = parts.findIndex(hasGlob);
  return at < 0 ? parts.join('/') : parts.slice(0, at).join('/');
};

/** COPY --from: the named paths of an image's files, fetched into a directory through a created container. */
async function imageSources(r: StepRunner, s: DispatchState, from: string, patterns: string[], cmd: string): Promise<Source[]> {
  const image = r.stageImages.get(from.toLowerCase()) ?? await r.imageFor(from);
  const dir = scratchDir(r, 'from');
  const id = await r.createContainer({ ...s, imageId: image }, { Cmd: ['true'], Entrypoint: null });
  try {
    for (const p of patterns) {
      const prefix = hasGlob(p) ? posix.dirname(`/${fixedPrefix(p)}/x`) : `/${cleanInside(p)}`;
      const into = posix.dirname(prefix);
      mkdirSync(posix.join(dir, into), { recursive: true });
      await r.deps.streams.getArchive(id, prefix, async (_stat, tar) => {
        await extractInto(dir, into, tar, { noOverwriteDirNonDir: false, copyUIDGID: true });
      }).catch((err: unknown) => {
        if (err instanceof BerthError && err.kind === 'not-found') return; // named below, as dockerd names it
        throw err;
      });
    }
  } finally {
    await r.deps.containers.remove(id, { force: true, volumes: true }).catch(() => undefined);
  }
  return patterns.flatMap((p) => resolveSources(dir, p, cmd));
}

/** The text of a file in a container (undefined when absent). */
async function containerFile(r: StepRunner, id: string, path: string): Promise<string | undefined> {
  let text: string | undefined;
  await r.deps.streams.getArchive(id, path, async (_stat, tar) => {
    const x = extract();
    const feed = (async () => { for await (const c of tar) x.write(c); x.end(undefined); })();
    for await (const e of x) {
      const entry = e as unknown as Readable & { header: Header };
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      if (text === undefined) text = Buffer.concat(chunks).toString('utf8');
    }
    await feed;
  }).catch(() => undefined);
  return text;
}

/** --chown=user[:group] as numbers: names looked up in the container's /etc/passwd and /etc/group. */
async function owner(r: StepRunner, id: string, chown: string): Promise<Owner> {
  if (chown === '') return { uid: 0, gid: 0 };
  const [user, group = user] = chown.split(':', 2) as [string, string?];
  const lookup = async (name: string, file: string, what: string): Promise<number> => {
    if (/^[0-9]+$/.test(name)) return Number(name);
    const text = await containerFile(r, id, file);
    const line = (text ?? '').split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
    if (!line) throw invalidArgument(`unable to convert uid/gid chown string to host mapping: can't find ${what} for ${what === 'uid' ? 'user' : 'group'} ${name}: no such ${what === 'uid' ? 'user' : 'group'}: ${name}`);
    return Number(line[2]);
  };
  return { uid: await lookup(user, '/etc/passwd', 'uid'), gid: await lookup(group!, '/etc/group', 'gid') };
}

export async function copyStep(r: StepRunner, s: DispatchState, ins: CopyIns): Promise<void> {
  const name = ins.kind.toUpperCase();
  const written = ins.sources.map((w) => r.word(s, w));
  const destWritten = r.word(s, ins.dest);
  const chown = ins.chown === '' ? '' : r.word(s, ins.chown);
  let sources: Source[] = [];
  if (ins.from !== undefined) sources = await imageSources(r, s, r.word(s, ins.from), written, name);
  else {
    for (const w of written) {
      if (isUrl(w)) {
        if (ins.kind === 'copy') throw invalidArgument(`COPY failed: source can't be a URL for COPY`);
        sources.push(...await fetchUrl(r, w));
      } else sources.push(...resolveSources(r.contextDir, w, name));
    }
  }
  if (sources.length === 0) throw invalidArgument(`${name} failed: no source files were specified`);
  checkMultiDest(sources.length, destWritten, name);
  const rc = s.runConfig;
  let dest = destWritten.startsWith('/') ? destWritten : posix.join(rc.WorkingDir || '/', destWritten);
  const endsInSlash = destWritten.endsWith('/') || destWritten.endsWith('/.') || destWritten === '.';
  dest = posix.normalize(dest).replace(/(.)\/+$/, '$1');
  const hash = await sourcesHash(sources);
  const comment = `${name} ${chown !== '' ? `--chown=${chown}` : ''}${hash} in ${destWritten} `;
  const cc = { ...copyConfig(rc), Cmd: [...shellOf(rc), `#(nop) ${comment}`] };
  await r.containerStep(s, cc, {
    announced: false,
    work: async (id) => {
      const who = await owner(r, id, chown);
      const existingDir = await r.deps.streams.statPath(id, dest).then((st) => (st.mode & 0x80000000) !== 0, () => false);
      const onlyDirs = sources.every((src) => src.stat.isDirectory());
      const destIsDir = endsInSlash || existingDir || sources.length > 1;
      const missing = await r.missingDirs(id, destIsDir || onlyDirs ? dest : posix.dirname(dest));
      await r.deps.streams.putArchive(id, '/', copyTar(sources, { dest, destIsDir, missingDirs: missing, owner: who, unpackArchives: ins.kind === 'add' }),
        { noOverwriteDirNonDir: false, copyUIDGID: true });
    },
  });
}
