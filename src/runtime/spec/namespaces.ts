/**
 * The OCI namespace types, their CLONE_NEW* flags (linux/sched.h) and the
 * names of their files under /proc/<pid>/ns/.
 */
import { invalidArgument } from '../../common/errors.js';

export interface NamespaceKind {
  /** the OCI `linux.namespaces[].type` */
  readonly type: NamespaceType;
  /** CLONE_NEW* flag for clone(2), unshare(2) and setns(2) */
  readonly flag: number;
  /** file name under /proc/<pid>/ns/ */
  readonly procName: string;
}

export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

export const NAMESPACES: Readonly<Record<NamespaceType, NamespaceKind>> = {
  pid: { type: 'pid', flag: CLONE_NEWPID, procName: 'pid' },
  network: { type: 'network', flag: CLONE_NEWNET, procName: 'net' },
  mount: { type: 'mount', flag: CLONE_NEWNS, procName: 'mnt' },
  ipc: { type: 'ipc', flag: CLONE_NEWIPC, procName: 'ipc' },
  uts: { type: 'uts', flag: CLONE_NEWUTS, procName: 'uts' },
  user: { type: 'user', flag: CLONE_NEWUSER, procName: 'user' },
  cgroup: { type: 'cgroup', flag: CLONE_NEWCGROUP, procName: 'cgroup' },
  time: { type: 'time', flag: CLONE_NEWTIME, procName: 'time' },
};

export function isNamespaceType(type: string): type is NamespaceType {
  return Object.prototype.hasOwnProperty.call(NAMESPACES, type);
}

/** The namespace kind of an OCI type; an unknown type is an error. */
export function namespaceKind(type: string): NamespaceKind {
  if (!isNamespaceType(type)) throw invalidArgument(`unknown namespace type "${type}"`);
  return NAMESPACES[type];
}

/** The namespace kind of a CLONE_NEW* flag (exactly one bit), or undefined. */
export function namespaceByFlag(flag: number): NamespaceKind | undefined {
  return Object.values(NAMESPACES).find((k) => k.flag === flag);
}

/** The namespace kind of a /proc/<pid>/ns/<name> file name, or undefined. */
export function namespaceByProcName(procName: string): NamespaceKind | undefined {
  return Object.values(NAMESPACES).find((k) => k.procName === procName);
}

/** /proc/<pid>/ns/<name> for a process and an OCI type. */
export function namespacePath(pid: number | 'self', type: NamespaceType): string {
  return `/proc/${pid}/ns/${NAMESPACES[type].procName}`;
}
