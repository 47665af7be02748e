/**
 * `cp`: files between a container and the host over docker's archive
 * endpoints (GET/PUT/HEAD /containers/{id}/archive, the stat of a path in
 * the X-Docker-Container-Path-Stat header). Tar streams are made and
 * unpacked by the host's tar, the root entry renamed when the destination
 * is a new name, as docker renames it.
 */
import { statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { basename, dirname, posix, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { childProcess } from '../builtins.js';
import { DaemonError } from '../client.js';
import { CliError, help, type CliContext, type CommandSpec } from '../command.js';
import { humanSize4 } from '../format/units.js';

export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

/** Go's os.ModeDir and os.ModeSymlink bits in the stat's mode. */
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;

export const isDirMode = (mode: number): boolean => Math.floor(mode / MODE_DIR) % 2 === 1;
export const isLinkMode = (mode: number): boolean => Math.floor(mode / MODE_SYMLINK) % 2 === 1;

/** Decodes the X-Docker-Container-Path-Stat header. */
export function decodePathStat(header: string | string[] | undefined): PathStat | undefined {
  if (typeof header !== 'string' || header === '') return undefined;
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
}

/** docker's split of a cp argument: `CONTAINER:PATH`, or a local path (absolute, or starting with "."). */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0 || arg.startsWith('.')) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

/** A GNU tar --transform expression renaming the root entry `from` to `to`. */
export function renameRoot(from: string, to: string): string {
  const esc = (s: string): string => s.replace(/[\\^$.*[\]|,&]/g, (c) => `\\${c}`);
  return `s,^${esc(from)}\\(/\\|$\\),${to.replace(/[\\,&]/g, (c) => `\\${c}`)}\\1,`;
}

function runTar(args: string[], input?: Readable): { out: Readable; done: Promise<void> } {
  const child = childProcess().spawn('tar', args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  if (input) input.pipe(child.stdin!);
  const done = new Promise<void>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res() : rej(new CliError(err.trim() || `tar exited ${code}`))));
  });
  return { out: child.stdout!, done };
}

/** Counts the bytes of a stream as they pass (docker reports the archive's size). */
function counted(stream: Readable): { stream: Readable; bytes: () => number } {
  let n = 0;
  stream.on('data', (d: Buffer) => { n += d.length; });
  return { stream, bytes: () => n };
}

async function statInContainer(ctx: CliContext, container: string, path: string): Promise<PathStat | undefined> {
  try {
    const res = await ctx.client().open('HEAD', `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
    res.resume();
    return decodePathStat(res.headers['x-docker-container-path-stat']);
  } catch (e) {
    if (e instanceof DaemonError && e.status === 404) return undefined;
    throw e;
  }
}

function localStat(path: string): { isDir: boolean } | undefined {
  try { return { isDir: statSync(path).isDirectory() }; } catch { return undefined; }
}

async function copyFromContainer(ctx: CliContext, container: string, src: string, dst: string, o: { archive: boolean; follow: boolean; quiet: boolean }): Promise<void> {
  let path = src;
  if (o.follow) {
    const st = await statInContainer(ctx, container, src);
    if (st && isLinkMode(st.mode) && st.linkTarget) path = posix.isAbsolute(st.linkTarget) ? st.linkTarget : posix.join(posix.dirname(src), st.linkTarget);
  }
  const res: IncomingMessage = await ctx.client().open('GET', `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
  if (dst === '-') {
    for await (const chunk of res) process.stdout.write(chunk as Buffer);
    return;
  }
  const stat = decodePathStat(res.headers['x-docker-container-path-stat']);
  const rootName = stat?.name ?? posix.basename(path);
  const target = localStat(dst);
  const srcIsDir = stat ? isDirMode(stat.mode) : false;
  if (!target && dst.endsWith('/') && !srcIsDir) { res.resume(); throw new CliError(`destination directory "${dst}" must exist`); }
  if (target && !target.isDir && srcIsDir) { res.resume(); throw new CliError(`cannot copy a directory to a file: ${dst}`); }
  // into an existing directory under the source's name, else under the destination's name
  const into = target?.isDir ? dst : dirname(resolve(dst));
  const args = ['-x', '-f', '-', '-C', into];
  if (!target?.isDir) args.push(`--transform=${renameRoot(rootName, basename(resolve(dst)))}`);
  if (!o.archive) args.push('--no-same-owner');
  const c = counted(res);
  const tar = runTar(args, c.stream);
  tar.out.resume();
  await tar.done;
  if (!o.quiet && process.stderr.isTTY) ctx.err(`Successfully copied ${humanSize4(c.bytes())} to ${dst}\n`);
}

async function copyToContainer(ctx: CliContext, src: string, container: string, dst: string, o: { archive: boolean; follow: boolean; quiet: boolean }): Promise<void> {
  const put = async (dir: string, body: Readable): Promise<void> => {
    await ctx.client().call('PUT', `/containers/${encodeURIComponent(container)}/archive`, {
      query: { path: dir, noOverwriteDirNonDir: 'true', copyUIDGID: o.archive ? 'true' : undefined }, raw: body, headers: { 'Content-Type': 'application/x-tar' },
    });
  };
  if (src === '-') {
    await put(dst, process.stdin);
    return;
  }
  const local = localStat(src);
  if (!local) throw new CliError(`stat ${resolve(src)}: no such file or directory`);
  const target = await statInContainer(ctx, container, dst);
  if (target && !isDirMode(target.mode) && local.isDir) throw new CliError(`Error response from daemon: cannot copy directory to file: ${dst}`);
  const intoDir = target !== undefined && isDirMode(target.mode);
  const dir = intoDir ? dst : posix.dirname(dst);
  const args = ['-c', '-f', '-', '-C', dirname(resolve(src))];
  if (!intoDir) args.push(`--transform=${renameRoot(basename(resolve(src)), posix.basename(dst))}`);
  if (!o.archive) args.push('--owner=0', '--group=0', '--numeric-owner');
  if (o.follow) args.push('--dereference');
  args.push(basename(resolve(src)));
  const tar = runTar(args);
  const c = counted(tar.out);
  await Promise.all([put(dir, c.stream), tar.done]);
  if (!o.quiet && process.stderr.isTTY) ctx.err(`Successfully copied ${humanSize4(c.bytes())} to ${container}:${dst}\n`);
}

export const cpCommand: CommandSpec = {
  names: ['cp', 'container cp'], usage: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  summary: 'Copy files/folders between a container and the local filesystem', minArgs: 2, maxArgs: 2,
  flags: [{ name: 'archive', short: 'a', type: 'bool' }, { name: 'follow-link', short: 'L', type: 'bool' }, { name: 'quiet', short: 'q', type: 'bool' }, help()],
  async run(ctx, o) {
    const [from, to] = [splitCpArg(o.args[0]!), splitCpArg(o.args[1]!)];
    const flags = { archive: o.bool('archive'), follow: o.bool('follow-link'), quiet: o.bool('quiet') };
    if (from.container !== undefined && to.container !== undefined) throw new CliError('copying between containers is not supported');
    if (from.container === undefined && to.container === undefined) throw new CliError('must specify at least one container source');
    if (from.container !== undefined) await copyFromContainer(ctx, from.container, from.path, to.path, flags);
    else await copyToContainer(ctx, from.path, to.container!, to.path, flags);
    return 0;
  },
};
