/**
 * The local driver's files: `<data-root>/volumes/<name>/_data`, mounted
 * from `device` with `type` and `o` when the volume has those options (a
 * tmpfs, a bind, an nfs share, as Docker's local driver), filled from an
 * image's content with owners and modes kept, and measured for df.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, invalidArgument, wrap } from '../../common/errors.js';
import { native } from '../../common/native.js';

export const OPTION_KEYS = ['type', 'device', 'o', 'size'] as const;

export function checkOptions(name: string, opts: Record<string, string>): void {
  for (const k of Object.keys(opts)) {
    if (!(OPTION_KEYS as readonly string[]).includes(k)) throw invalidArgument(`create ${name}: invalid option key: "${k}"`);
  }
  if ((opts.type !== undefined) !== (opts.device !== undefined)) {
    throw invalidArgument(`create ${name}: missing required option: "${opts.type === undefined ? 'type' : 'device'}"`);
  }
}

export function volumeDir(root: string, name: string): string { return join(root, name); }
export function dataDir(root: string, name: string): string { return join(root, name, '_data'); }

export function makeDirs(root: string, name: string): void {
  mkdirSync(dataDir(root, name), { recursive: true, mode: 0o755 });
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function isMounted(path: string): boolean {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((l) => unescapeMountinfo(l.split(' ')[4] ?? '') === path);
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new BerthError('internal', `${what}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
}

const FLAGS: Record<string, number> = { ro: 1, nosuid: 2, nodev: 4, noexec: 8, bind: 4096, rbind: 4096 | 16384 };

/** mount(8)'s `-o` split into mount(2) flags and the filesystem's data. */
export function splitMountOptions(o: string): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const opt of o.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    if (opt === 'rw') continue;
    if (opt in FLAGS) flags |= FLAGS[opt]!;
    else data.push(opt);
  }
  return { flags, data: data.join(',') };
}

/** Mounts a volume with options on its _data (once); a plain volume needs nothing. */
export function mountVolume(root: string, name: string, opts: Record<string, string>): void {
  if (opts.type === undefined) return;
  const target = dataDir(root, name);
  if (isMounted(target)) return;
  const { flags, data } = splitMountOptions(opts.o ?? '');
  try {
    native().mount(opts.device!, target, opts.type === 'none' ? '' : opts.type, flags, data);
  } catch (err) {
    throw wrap(`error while mounting volume '${target}'`, err);
  }
}

export function unmountVolume(root: string, name: string): void {
  const target = dataDir(root, name);
  if (!existsSync(target) || !isMounted(target)) return;
  try { native().umount2(target, 0); } catch (err) { throw wrap(`cannot unmount volume ${name}`, err); }
}

export function removeDirs(root: string, name: string): void {
  unmountVolume(root, name);
  rmSync(volumeDir(root, name), { recursive: true, force: true });
}

export function isEmptyDir(path: string): boolean {
  try { return readdirSync(path).length === 0; } catch { return true; }
}

/**
 * Copies what the image holds at `src` into an empty volume: files,
 * links, owners, modes, times and xattrs (cp -a, as dockerd's copy keeps
 * them), the directory's own owner and mode included.
 */
export function copyImageContent(src: string, dst: string): void {
  let st;
  try { st = lstatSync(src); } catch { return; } // nothing at that path in the image
  if (!st.isDirectory()) return;
  run('cp', ['-a', '--', `${src}/.`, `${dst}/`], `cannot copy the image's ${src} into volume ${dst}`);
}

/** Bytes of the files under path (df's volume size). */
export function dirSize(path: string): number {
  let total = 0;
  const walk = (p: string): void => {
    let st;
    try { st = lstatSync(p); } catch { return; }
    if (st.isDirectory()) {
      let names: string[] = [];
      try { names = readdirSync(p); } catch { return; }
      for (const n of names) walk(join(p, n));
    } else {
      total += st.size;
    }
  };
  walk(path);
  return total;
}
