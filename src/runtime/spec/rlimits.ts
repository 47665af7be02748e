/**
 * POSIX rlimit names (as the OCI config writes them) and the resource
 * numbers of asm-generic/resource.h, which x86_64 and arm64 share.
 */
import { invalidArgument } from '../../common/errors.js';

export const RLIMITS = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
} as const;

export type RlimitName = keyof typeof RLIMITS;

/** setrlimit's "no limit" (RLIM_INFINITY), as an unsigned 64-bit value. */
export const RLIM_INFINITY = (1n << 64n) - 1n;

export function isRlimitName(name: string): name is RlimitName {
  return Object.prototype.hasOwnProperty.call(RLIMITS, name);
}

/** The resource number of "RLIMIT_X", or undefined when unknown. */
export function rlimitResource(name: string): number | undefined {
  return isRlimitName(name) ? RLIMITS[name] : undefined;
}

/** Like rlimitResource, but an unknown name is an error. */
export function parseRlimit(name: string): number {
  const r = rlimitResource(name);
  if (r === undefined) throw invalidArgument(`unknown rlimit type "${name}"`);
  return r;
}
