/**
 * `export`: a container's filesystem (its snapshot's merged view) as a tar
 * stream. The snapshot is not mounted a second time read-write: an overlay
 * is mounted read-only with its upper directory as the top lower layer (no
 * upper, no work directory, so a running container's own mount is not
 * disturbed), in a scratch directory under the core's root; a plain
 * directory (a bind) is read where it is. GNU tar writes the stream
 * (numeric owners, xattrs), entries named without a leading "./" as
 * `docker export` writes them.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { BerthError, invalidArgument } from '../../common/errors.js';
import { mountAll, unmountAll } from '../snapshots/mount.js';
import type { Mount, Snapshotter } from '../snapshots/types.js';

export const TAR_BIN = 'tar';

/** A read-only form of a snapshot's mounts: a directory to read, or one overlay to mount. */
export function readOnlyView(mounts: Mount[]): { dir: string } | { mount: Mount } {
  if (mounts.length !== 1) throw invalidArgument(`cannot export a snapshot of ${mounts.length} mounts`);
  const m = mounts[0]!;
  if (m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind')) return { dir: m.source };
  if (m.type !== 'overlay') throw invalidArgument(`cannot export a snapshot mounted as ${m.type}`);
  const opt = (k: string): string | undefined => m.options.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
  const lower = opt('lowerdir');
  const upper = opt('upperdir');
  if (lower === undefined) throw invalidArgument('cannot export an overlay snapshot without lowerdir');
  const rest = m.options.filter((o) => !/^(lowerdir|upperdir|workdir)=/.test(o) && o !== 'rw');
  return { mount: { type: 'overlay', source: 'overlay', options: [...rest, 'ro', `lowerdir=${upper !== undefined ? `${upper}:${lower}` : lower}`] } };
}

/** The tar of dir, then done() (unmounting) once tar has exited. */
function tarOf(dir: string, what: string, done: () => void): Readable {
  const names = readdirSync(dir);
  const tar = spawn(TAR_BIN, ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-C', dir, '-cf', '-', '--', ...(names.length > 0 ? names : ['.'])],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  tar.stdout.pipe(out, { end: false });
  let ended = false;
  const finish = (err?: Error): void => {
    if (ended) return;
    ended = true;
    try { done(); } catch (e) { err ??= e as Error; }
    if (err) out.destroy(err); else out.end();
  };
  tar.on('error', (err) => finish(new BerthError('unavailable', `cannot export ${what}: cannot run ${TAR_BIN}: ${err.message}`)));
  tar.on('close', (code) => finish(code === 0 ? undefined : new BerthError('internal', `cannot export ${what}: tar exited ${code}: ${stderr.trim()}`)));
  // the reader went away: stop tar (its close then unmounts)
  out.on('close', () => { if (tar.exitCode === null) tar.kill('SIGKILL'); });
  return out;
}

/** The filesystem of snapshot key as a tar stream; scratch is where a read-only overlay is mounted for the time of the export. */
export function exportSnapshot(sn: Snapshotter, ns: string, key: string, scratch: string, what: string): Readable {
  const view = readOnlyView(sn.mounts(ns, key));
  if ('dir' in view) return tarOf(view.dir, what, () => undefined);
  const target = join(scratch, `export-${randomUUID()}`);
  mkdirSync(target, { recursive: true });
  try {
    mountAll([view.mount], target);
  } catch (err) {
    rmdirSync(target);
    throw err;
  }
  return tarOf(target, what, () => { unmountAll(target); rmdirSync(target); });
}

/** A container's plain rootfs directory as a tar stream. */
export function exportDirectory(dir: string, what: string): Readable {
  return tarOf(dir, what, () => undefined);
}
