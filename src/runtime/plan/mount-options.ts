/**
 * OCI mount options ("ro", "nosuid", "rbind", "rslave", "size=65536k" …)
 * turned into mount(2) flags, propagation flags and the data string, as
 * runc interprets them.
 */
export const MS = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, SYNCHRONOUS: 0x10, REMOUNT: 0x20, MANDLOCK: 0x40,
  DIRSYNC: 0x80, NOSYMFOLLOW: 0x100, NOATIME: 0x400, NODIRATIME: 0x800, BIND: 0x1000, MOVE: 0x2000, REC: 0x4000,
  UNBINDABLE: 0x20000, PRIVATE: 0x40000, SLAVE: 0x80000, SHARED: 0x100000, RELATIME: 0x200000,
  STRICTATIME: 0x1000000, LAZYTIME: 0x2000000,
} as const;

/** option → [clear?, flag]: clear=true means the option removes the flag */
const FLAG_OPTIONS: Record<string, [boolean, number]> = {
  async: [true, MS.SYNCHRONOUS], atime: [true, MS.NOATIME], bind: [false, MS.BIND], defaults: [false, 0],
  dev: [true, MS.NODEV], diratime: [true, MS.NODIRATIME], dirsync: [false, MS.DIRSYNC], exec: [true, MS.NOEXEC],
  mand: [false, MS.MANDLOCK], noatime: [false, MS.NOATIME], nodev: [false, MS.NODEV], nodiratime: [false, MS.NODIRATIME],
  noexec: [false, MS.NOEXEC], nomand: [true, MS.MANDLOCK], norelatime: [true, MS.RELATIME],
  nostrictatime: [true, MS.STRICTATIME], nosuid: [false, MS.NOSUID], rbind: [false, MS.BIND | MS.REC],
  relatime: [false, MS.RELATIME], remount: [false, MS.REMOUNT], ro: [false, MS.RDONLY], rw: [true, MS.RDONLY],
  strictatime: [false, MS.STRICTATIME], suid: [true, MS.NOSUID], sync: [false, MS.SYNCHRONOUS],
  nosymfollow: [false, MS.NOSYMFOLLOW], symfollow: [true, MS.NOSYMFOLLOW], lazytime: [false, MS.LAZYTIME],
  nolazytime: [true, MS.LAZYTIME],
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options the runtime understands but that are not flags (handled elsewhere). */
const EXTENSION_OPTIONS = new Set(['idmap', 'ridmap', 'tmpcopyup', 'rro', 'rrw', 'rnosuid', 'rsuid', 'rnodev', 'rdev', 'rnoexec', 'rexec']);

export interface ParsedMountOptions {
  flags: number;
  propagation: number[];
  data: string;
  recursiveReadonly: boolean;
  idmap: boolean;
  recursiveIdmap: boolean;
}

export function parseMountOptions(options: readonly string[] | undefined): ParsedMountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let recursiveReadonly = false;
  let idmap = false;
  let recursiveIdmap = false;
  for (const opt of options ?? []) {
    const f = FLAG_OPTIONS[opt];
    if (f) {
      flags = f[0] ? flags & ~f[1] : flags | f[1];
      continue;
    }
    const p = PROPAGATION_OPTIONS[opt];
    if (p !== undefined) { propagation.push(p); continue; }
    if (EXTENSION_OPTIONS.has(opt)) {
      if (opt === 'rro') recursiveReadonly = true;
      if (opt === 'idmap') idmap = true;
      if (opt === 'ridmap') { idmap = true; recursiveIdmap = true; }
      continue;
    }
    data.push(opt);
  }
  return { flags, propagation, data: data.join(','), recursiveReadonly, idmap, recursiveIdmap };
}

export function propagationFlags(name: string | undefined): number | undefined {
  if (name === undefined || name === '') return undefined;
  return PROPAGATION_OPTIONS[name];
}
