/**
 * The N-API addon (`native/addon/`), loaded once and typed here. Only the few
 * system calls TypeScript needs in-process live there; everything between
 * clone() and execve() is the C executor's (see native/README.md).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from './errors.js';

/** A descriptor received over a unix socket, with the message's bytes as text. */
export interface ReceivedFd {
  fd: number;
  data: string;
}

export interface NativeAddon {
  /** pidfd_open(2); the fd is close-on-exec. */
  pidfdOpen(pid: number): number;
  /** pidfd_send_signal(2). */
  pidfdSendSignal(pidfd: number, signal: number): void;
  close(fd: number): void;
  /** prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented to us. */
  setChildSubreaper(): void;
  /** The uid of the process at the other end of a unix socket (SO_PEERCRED). */
  peerUid(fd: number): number;
  /** A listening unix stream socket at path (close-on-exec). */
  unixListen(path: string): number;
  /**
   * Receives one fd sent with SCM_RIGHTS (accepting first when sockFd is
   * listening). Blocks the thread up to timeoutMs: for tests and tools.
   */
  recvFd(sockFd: number, timeoutMs: number): ReceivedFd;
  /**
   * Sends bytes on a connected unix socket with fd attached to the first of
   * them (SCM_RIGHTS); waits up to a second for room in a full buffer.
   */
  sendFd(sockFd: number, bytes: Buffer, fd: number): void;
  /** mkfifo(3) with exactly this mode (the umask does not apply). */
  mkfifo(path: string, mode: number): void;
  /**
   * posix_spawn(3) of path with argv (argv[0] included) and this process's
   * environment: stdio on /dev/null, the write end of a new pipe as fd 3,
   * every other fd closed. Cheaper than child_process from a large process.
   * The caller reads `readyFd` (close-on-exec) to EOF and must reap `pid`.
   */
  spawnDetached(path: string, argv: readonly string[]): { pid: number; readyFd: number };
  /** waitpid(pid, WNOHANG): the wait status, or -1 while the child runs. */
  reap(pid: number): number;
  /** dup2(2): newFd becomes a copy of oldFd (not close-on-exec). */
  dup2(oldFd: number, newFd: number): void;
  /** mknod(2); mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO) and permissions. */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2): the link itself, never its target. */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** lgetxattr(2): null when the attribute is absent. */
  lgetxattr(path: string, name: string): Buffer | null;
  /** llistxattr(2): the attribute names. */
  llistxattr(path: string): string[];
  /**
   * mount(2). With cwd, the call is made by a short-lived child that first
   * changes to cwd, so relative paths in data (overlay's lowerdir) resolve
   * there without changing this process's working directory.
   */
  mount(source: string, target: string, fstype: string, flags: number, data: string, cwd?: string): void;
  /** umount2(2); flags such as MNT_DETACH (2). */
  umount2(target: string, flags: number): void;
}

/** Where the addon may be: next to the bundle (dist/), or built but not yet copied. */
function candidates(): string[] {
  // bundled to CommonJS, __dirname is the bundle's folder; from src (ESM, tsx) it is not defined
  const here = typeof __dirname === 'string' ? __dirname : dirname(thisFile());
  return [
    join(here, 'berth_addon.node'),
    join(here, '../../dist/berth_addon.node'),
    join(here, '../../build/Release/berth_addon.node'),
  ];
}

/**
 * This module's own file, from V8's call sites. `import.meta.url` would say
 * the same in ESM, but the CommonJS bundles cannot contain `import.meta`.
 */
function thisFile(): string {
  const saved = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_err, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[];
    const name = sites[0]?.getFileName() ?? '';
    return name.startsWith('file:') ? fileURLToPath(name) : name;
  } finally {
    Error.prepareStackTrace = saved;
  }
}

let loaded: NativeAddon | undefined;

/** The addon; throws an `unavailable` BerthError when it was not built. */
export function native(): NativeAddon {
  if (loaded) return loaded;
  const path = candidates().find((p) => existsSync(p));
  if (!path) throw new BerthError('unavailable', 'cannot load the native addon: berth_addon.node is not built (run npm run build)');
  const require = createRequire(path);
  try {
    loaded = require(path) as NativeAddon;
  } catch (err) {
    throw new BerthError('unavailable', `cannot load the native addon ${path}: ${(err as Error).message}`, { cause: err });
  }
  return loaded;
}
