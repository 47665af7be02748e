/**
 * The container's filesystem mounts: Docker's defaults (proc, /dev, devpts,
 * sysfs, cgroup, mqueue, shm sized by ShmSize) and the user's Binds,
 * Mounts (bind, tmpfs, volume) and Tmpfs, each also kept as inspect's
 * MountPoint. Named and anonymous volumes are asked of a VolumeResolver.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, posix } from 'node:path';
import { invalidArgument } from '../../common/errors.js';
import type { DockerHostConfig, MountPoint } from '../containers/types.js';

export interface OciMount { destination: string; type: string; source: string; options: string[] }

/** A mount of the user's, ready for the spec and for inspect. */
export interface UserMount { mount: OciMount; point: MountPoint }

/** A volume the container asks for ("" for a new anonymous one), as the API's VolumeResolver takes it. */
export interface VolumeAsk { name: string; target: string; noCopy?: boolean }
export interface VolumeSource { name: string; target: string; source: string }
/** Resolves every volume of one container at once (the volume store creates and fills them). */
export type ResolveVolumes = (asks: VolumeAsk[]) => Promise<VolumeSource[]>;

/** A mount whose source is a volume not resolved yet. */
interface Pending { volume: VolumeAsk; rw: boolean; mode: string }
type Parsed = UserMount | Pending;
const isPending = (p: Parsed): p is Pending => 'volume' in p;

export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Docker's default mounts; privileged containers get /sys and the cgroup tree writable. */
export function defaultMounts(shmSize: number, privileged: boolean): OciMount[] {
  const ro = privileged ? [] : ['ro'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...ro] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', ...ro] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] },
  ];
}

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

function checkDestination(dst: string, what: string): string {
  if (!isAbsolute(dst)) throw invalidArgument(`invalid mount config for type "${what}": invalid mount path: '${dst}' mount path must be absolute`);
  if (dst === '/') throw invalidArgument(`invalid mount config for type "${what}": invalid specification: destination can't be '/'`);
  return posix.normalize(dst);
}

function bindMount(source: string, dst: string, rw: boolean, propagation: string, mode: string): UserMount {
  const options = ['rbind', propagation, ...(rw ? [] : ['ro'])];
  return {
    mount: { destination: dst, type: 'bind', source, options },
    point: { Type: 'bind', Source: source, Destination: dst, Mode: mode, RW: rw, Propagation: propagation },
  };
}

function volumeMount(v: VolumeSource, rw: boolean, mode: string): UserMount {
  return {
    mount: { destination: v.target, type: 'bind', source: v.source, options: ['rbind', 'rprivate', ...(rw ? [] : ['ro'])] },
    point: { Type: 'volume', Name: v.name, Source: v.source, Destination: v.target, Driver: 'local', Mode: mode, RW: rw, Propagation: '' },
  };
}

/** One `-v` entry: "/host:/ctr[:opts]", "name:/ctr[:opts]" or "/ctr". */
function parseBind(spec: string): Parsed {
  const parts = spec.split(':');
  if (parts.length === 1) {
    const dst = checkDestination(parts[0]!, 'volume');
    return { volume: { name: '', target: dst }, rw: true, mode: '' };
  }
  if (parts.length > 3) throw invalidArgument(`invalid volume specification: '${spec}'`);
  const [src, rawDst, mode = ''] = parts as [string, string, string?];
  const dst = checkDestination(rawDst, src.startsWith('/') ? 'bind' : 'volume');
  const opts = mode === '' ? [] : mode.split(',');
  for (const o of opts) {
    if (!['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS].includes(o)) throw invalidArgument(`invalid mode: ${mode}`);
  }
  const rw = !opts.includes('ro');
  if (!src.startsWith('/')) return { volume: { name: src, target: dst, noCopy: opts.includes('nocopy') }, rw, mode };
  // -v creates a missing host directory, as dockerd does for Binds (not for Mounts)
  if (!existsSync(src)) mkdirSync(src, { recursive: true, mode: 0o755 });
  const propagation = opts.find((o) => PROPAGATIONS.includes(o)) ?? 'rprivate';
  return bindMount(posix.normalize(src), dst, rw, propagation, mode);
}

function parseMount(m: NonNullable<DockerHostConfig['Mounts']>[number]): Parsed {
  const type = m.Type ?? '';
  const dst = checkDestination(m.Target ?? '', type);
  const rw = m.ReadOnly !== true;
  switch (type) {
    case 'bind': {
      const src = m.Source ?? '';
      if (!isAbsolute(src)) throw invalidArgument(`invalid mount config for type "bind": invalid mount path: '${src}' mount path must be absolute`);
      if (!existsSync(src)) {
        if (m.BindOptions?.CreateMountpoint !== true) throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${src}`);
        mkdirSync(src, { recursive: true, mode: 0o755 });
      }
      return bindMount(posix.normalize(src), dst, rw, m.BindOptions?.Propagation || 'rprivate', '');
    }
    case 'tmpfs': {
      if (m.Source) throw invalidArgument('invalid mount config for type "tmpfs": Source must not be specified');
      const options = ['nosuid', 'nodev', 'noexec'];
      if (m.TmpfsOptions?.SizeBytes) options.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) options.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      if (!rw) options.push('ro');
      return { mount: { destination: dst, type: 'tmpfs', source: 'tmpfs', options }, point: { Type: 'tmpfs', Source: '', Destination: dst, Mode: '', RW: rw, Propagation: '' } };
    }
    case 'volume': {
      const noCopy = (m.VolumeOptions as { NoCopy?: boolean } | undefined)?.NoCopy === true;
      return { volume: { name: m.Source ?? '', target: dst, noCopy }, rw, mode: 'z' };
    }
    default:
      throw invalidArgument(`invalid mount config: mount type "${type}" is not supported`);
  }
}

function tmpfsMount(dst: string, opts: string): UserMount {
  const d = checkDestination(dst, 'tmpfs');
  const given = opts === '' ? [] : opts.split(',');
  const options = ['noexec', 'nosuid', 'nodev', ...given];
  const rw = !given.includes('ro');
  return { mount: { destination: d, type: 'tmpfs', source: 'tmpfs', options }, point: { Type: 'tmpfs', Source: '', Destination: d, Mode: opts, RW: rw, Propagation: '' } };
}

/** Binds, Mounts and Tmpfs of a create body; two mounts on one destination are a 400. */
export async function userMounts(host: DockerHostConfig, resolveVolumes: ResolveVolumes): Promise<UserMount[]> {
  const parsed: Parsed[] = [
    ...(host.Binds ?? []).map(parseBind),
    ...(host.Mounts ?? []).map(parseMount),
    ...Object.entries(host.Tmpfs ?? {}).map(([dst, opts]) => tmpfsMount(dst, opts)),
  ];
  const seen = new Set<string>();
  for (const p of parsed) {
    const dst = isPending(p) ? p.volume.target : p.mount.destination;
    if (seen.has(dst)) throw invalidArgument(`Duplicate mount point: ${dst}`);
    seen.add(dst);
  }
  const pending = parsed.filter(isPending);
  const resolved = pending.length > 0 ? await resolveVolumes(pending.map((p) => p.volume)) : [];
  return parsed.map((p) => {
    if (!isPending(p)) return p;
    const v = resolved.find((r) => r.target === p.volume.target);
    if (!v) throw invalidArgument(`volume for ${p.volume.target} was not resolved`);
    return volumeMount(v, p.rw, p.mode);
  });
}
