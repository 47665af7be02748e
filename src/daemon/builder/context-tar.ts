/**
 * A build context's tar made whole before it is unpacked, as dockerd reads
 * what clients send:
 * - an entry whose parent directories are not in the archive gets them
 *   (mode 0755), as dockerd creates them: the docker CLI leaves out a
 *   directory that .dockerignore excludes while sending a file under it
 *   that an exception keeps (`docs` + `!docs/keep.md`);
 * - an archive that ends right after an entry's data, without the padding
 *   and the end blocks, ends there: the docker CLI sends contexts so with
 *   `-f -` (its Dockerfile appended after the tar writer's pipe is
 *   closed), and dockerd's tar reader takes that as the end. Cut anywhere
 *   else, it is still an error;
 * - a hard link to nothing archived before it is refused here, as a bad
 *   archive, rather than failing half-way through the unpack.
 */
import { posix } from 'node:path';
import { extract, pack, type Header, type Pack } from 'tar-stream';

type EntryStream = AsyncIterable<Buffer> & { header: Header };

/** The entry's path as the extractor will see it ("" for the root). */
const clean = (name: string): string => posix.normalize(name).replace(/^(\.\/|\/)+/, '').replace(/\/$/, '').replace(/^\.$/, '');

function addEntry(p: Pack, h: Header, data: AsyncIterable<Buffer> | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = p.entry(h, (err) => (err ? reject(err) : resolve()));
    // a sink's error (an entry cut short) is this promise's, never an unhandled event that would end berthd
    sink.on('error', reject);
    if (!data) { sink.end(undefined); return; }
    (async () => {
      for await (const c of data) if (!sink.write(c)) await new Promise<void>((r) => sink.once('drain', () => r()));
      sink.end(undefined);
    })().catch(reject);
  });
}

/** Feeds the body into the extractor; records whether the input ended cleanly. */
function feed(body: AsyncIterable<Buffer>, x: ReturnType<typeof extract>): Promise<void> {
  return (async () => {
    for await (const c of body) {
      if (x.destroyed) return;
      if (!x.write(c)) await new Promise<void>((r) => { x.once('drain', () => r()); x.once('close', () => r()); });
    }
    x.end(undefined);
  })();
}

/** The context's tar with missing parent directories added and a cut-short end (after an entry's data) closed. */
export async function* normalizedTar(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const x = extract();
  const p = pack();
  // their errors reach the caller through the iterations and promises below; late ones are dropped, not thrown at the process
  x.on('error', () => undefined);
  p.on('error', () => undefined);
  const fed = feed(body, x);
  fed.catch((err: unknown) => x.destroy(err as Error));
  const dirs = new Set<string>(['']);
  const files = new Set<string>();
  let between = true;
  const rewrite = async (): Promise<void> => {
    try {
      for await (const e of x as AsyncIterable<EntryStream>) {
        between = false;
        const rel = clean(e.header.name);
        const parents = rel.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'));
        for (const d of parents) {
          if (dirs.has(d)) continue;
          dirs.add(d);
          await addEntry(p, { name: `${d}/`, type: 'directory', mode: 0o755, mtime: e.header.mtime ?? new Date(), uid: 0, gid: 0 } as Header, undefined);
        }
        // a hard link must name a file archived before it (dockerd's unpack fails on others)
        if (e.header.type === 'link' && !files.has(clean(e.header.linkname ?? ''))) {
          throw new Error(`hard link ${e.header.name} to ${e.header.linkname ?? ''}: no such file before it in the archive`);
        }
        if (e.header.type === 'directory') dirs.add(rel);
        else files.add(rel);
        await addEntry(p, e.header, e);
        between = true;
      }
    } catch (err) {
      // cut short right after a whole entry: the end, as dockerd's reader takes it
      if (!(between && /unexpected end of data/i.test((err as Error).message))) throw err;
    }
  };
  const done = rewrite().then(() => p.finalize(), (err: unknown) => { p.destroy(err as Error); });
  try {
    yield* p as AsyncIterable<Buffer>;
  } finally {
    x.destroy();
    await done;
    await fed.catch(() => undefined);
  }
}
