/**
 * seccomp return values and filter flags (linux/seccomp.h), and how the OCI
 * action and flag names map onto them.
 */
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

export const SECCOMP_FILTER_FLAG_TSYNC = 1 << 0;
export const SECCOMP_FILTER_FLAG_LOG = 1 << 1;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 1 << 4;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5;

export const EPERM = 1;
export const ENOSYS = 38;

/** OCI action name → the action bits of the return value (data added separately). */
export const ACTION_BITS: Readonly<Record<string, number>> = {
  // libseccomp's SCMP_ACT_KILL has always meant "kill the thread".
  SCMP_ACT_KILL: SECCOMP_RET_KILL_THREAD,
  SCMP_ACT_KILL_THREAD: SECCOMP_RET_KILL_THREAD,
  SCMP_ACT_KILL_PROCESS: SECCOMP_RET_KILL_PROCESS,
  SCMP_ACT_TRAP: SECCOMP_RET_TRAP,
  SCMP_ACT_ERRNO: SECCOMP_RET_ERRNO,
  SCMP_ACT_TRACE: SECCOMP_RET_TRACE,
  SCMP_ACT_ALLOW: SECCOMP_RET_ALLOW,
  SCMP_ACT_LOG: SECCOMP_RET_LOG,
  SCMP_ACT_NOTIFY: SECCOMP_RET_USER_NOTIF,
};

/** Actions whose 16 data bits the profile may set through errnoRet (runtime-spec: others must fail). */
export const ACTIONS_WITH_DATA: ReadonlySet<string> = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

export const FLAG_BITS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

/** A filter return value in words: the OCI action name and its data. */
export function describeReturn(ret: number): { action: string; data: number } {
  const full = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = ret & SECCOMP_RET_DATA;
  switch (full) {
    case SECCOMP_RET_KILL_PROCESS: return { action: 'SCMP_ACT_KILL_PROCESS', data };
    case SECCOMP_RET_KILL_THREAD: return { action: 'SCMP_ACT_KILL_THREAD', data };
    case SECCOMP_RET_TRAP: return { action: 'SCMP_ACT_TRAP', data };
    case SECCOMP_RET_ERRNO: return { action: 'SCMP_ACT_ERRNO', data };
    case SECCOMP_RET_USER_NOTIF: return { action: 'SCMP_ACT_NOTIFY', data };
    case SECCOMP_RET_TRACE: return { action: 'SCMP_ACT_TRACE', data };
    case SECCOMP_RET_LOG: return { action: 'SCMP_ACT_LOG', data };
    case SECCOMP_RET_ALLOW: return { action: 'SCMP_ACT_ALLOW', data };
    // The kernel treats an unknown action as KILL_PROCESS.
    default: return { action: 'SCMP_ACT_KILL_PROCESS', data };
  }
}
