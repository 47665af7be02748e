/**
 * The devices every container gets (runtime-spec config-linux.md "Default
 * Devices") and the plan records that create them: mknod where the runtime
 * may, a bind of the host node inside a user namespace, where it may not.
 */
import type { PlanEntry } from './wire.js';

export interface DeviceNode {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export const DEFAULT_DEVICES: readonly DeviceNode[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

/** Device cgroup rules that let the default devices (and /dev/pts, /dev/ptmx) be used. */
export const DEFAULT_DEVICE_RULES = [
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // /dev/console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' }, // /dev/pts/*
] as const;

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

function modeOf(d: DeviceNode): number {
  const type = d.type === 'b' ? S_IFBLK : d.type === 'p' ? S_IFIFO : S_IFCHR;
  return type | (d.fileMode & 0o7777);
}

/** Records creating the nodes; `inUserNs` binds host nodes instead of mknod. */
export function deviceRecords(devices: readonly DeviceNode[], inUserNs: boolean): PlanEntry[] {
  return devices.map((d): PlanEntry => inUserNs && d.type !== 'p'
    ? { type: 'BIND_DEVICE', value: { path: d.path, hostPath: d.path } }
    : { type: 'MKNOD', value: { path: d.path, mode: modeOf(d), major: d.major, minor: d.minor, uid: d.uid, gid: d.gid } });
}

/** The /dev symlinks runc creates. /dev/ptmx only when a devpts is mounted. */
export function devSymlinks(hasProc: boolean, hasDevpts: boolean): PlanEntry[] {
  const links: [string, string][] = [];
  if (hasProc) {
    links.push(['/proc/self/fd', '/dev/fd'], ['/proc/self/fd/0', '/dev/stdin'], ['/proc/self/fd/1', '/dev/stdout'], ['/proc/self/fd/2', '/dev/stderr']);
    links.push(['/proc/kcore', '/dev/core']);
  }
  if (hasDevpts) links.push(['pts/ptmx', '/dev/ptmx']);
  return links.map(([target, path]) => ({ type: 'SYMLINK', value: { target, path } }));
}
