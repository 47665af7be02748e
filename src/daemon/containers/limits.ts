/**
 * The nofile limit containers get by default: berthd's own (a dockerd
 * container inherits containerd's), read from /proc/self/limits; a hard
 * limit above the process's cannot be set without CAP_SYS_RESOURCE in the
 * caller's namespace, so asking for more would fail every start.
 */
import { readFileSync } from 'node:fs';
import { ALL_CAPS, capsOfMask, DEFAULT_NOFILE } from '../spec/index.js';

export function hostNofile(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    const n = Number(hard);
    return Number.isInteger(n) && n > 0 ? Math.min(n, DEFAULT_NOFILE) : DEFAULT_NOFILE;
  } catch {
    return DEFAULT_NOFILE;
  }
}

/** The capabilities berthd holds (its bounding set): a privileged container gets these. */
export function hostCapabilities(): string[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapBnd:'));
    return line === undefined ? [...ALL_CAPS] : capsOfMask(line.slice(7));
  } catch {
    return [...ALL_CAPS];
  }
}
