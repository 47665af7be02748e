/**
 * Berth's default seccomp profile, as data every layer may read: the runtime
 * applies it when a spec asks for it (src/runtime/seccomp/default-profile.ts),
 * and berthd writes it into the OCI spec of every container without
 * `seccomp=unconfined`, as dockerd does. As strict as Docker's: everything
 * not listed fails with EPERM; the calls that reach kernel state a container
 * must not touch are allowed only with the capability that makes them
 * legitimate (the kernel's own check then takes over). Keyrings, io_uring
 * and obsolete calls are refused outright; clone3 gets ENOSYS (its flags
 * live in a struct the filter cannot inspect; libc falls back to clone).
 */

/** The OCI linux.seccomp shape this profile fills (the runtime's types accept it). */
export interface SeccompProfileRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: SeccompProfileRule[];
}

const EPERM = 1;
const ENOSYS = 38;

/** CLONE_NEWNS | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWCGROUP. */
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x02000000;

/** personality() domains that change nothing dangerous: PER_LINUX, PER_LINUX32, UNAME26 variants, and the query 0xffffffff. */
const SAFE_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** What every container may call. */
export const DEFAULT_ALLOWED_SYSCALLS: readonly string[] = [
  // files and descriptors
  'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2', 'pwritev2',
  'open', 'openat', 'openat2', 'creat', 'close', 'close_range', 'lseek', '_llseek',
  'dup', 'dup2', 'dup3', 'fcntl', 'fcntl64', 'ioctl', 'flock',
  'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range',
  'truncate', 'truncate64', 'ftruncate', 'ftruncate64', 'fallocate', 'fadvise64', 'fadvise64_64',
  'readahead', 'sendfile', 'sendfile64', 'splice', 'tee', 'vmsplice', 'copy_file_range', 'cachestat',
  'pipe', 'pipe2', 'memfd_create', 'memfd_secret',
  // paths, metadata, directories
  'stat', 'stat64', 'lstat', 'lstat64', 'fstat', 'fstat64', 'newfstatat', 'fstatat64', 'statx',
  'statfs', 'statfs64', 'fstatfs', 'fstatfs64', 'file_getattr', 'file_setattr',
  'access', 'faccessat', 'faccessat2', 'readlink', 'readlinkat', 'getcwd', 'chdir', 'fchdir',
  'mkdir', 'mkdirat', 'rmdir', 'rename', 'renameat', 'renameat2', 'link', 'linkat', 'symlink', 'symlinkat',
  'unlink', 'unlinkat', 'mknod', 'mknodat', 'getdents', 'getdents64', 'readdir',
  'chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'chown', 'chown32', 'fchown', 'fchown32', 'fchownat', 'lchown', 'lchown32',
  'umask', 'utime', 'utimes', 'futimesat', 'utimensat', 'utimensat_time64',
  'getxattr', 'lgetxattr', 'fgetxattr', 'getxattrat', 'listxattr', 'llistxattr', 'flistxattr', 'listxattrat',
  'setxattr', 'lsetxattr', 'fsetxattr', 'setxattrat', 'removexattr', 'lremovexattr', 'fremovexattr', 'removexattrat',
  'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark',
  'statmount', 'listmount',
  // memory
  'brk', 'mmap', 'mmap2', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync', 'remap_file_pages',
  'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall', 'membarrier', 'mseal', 'map_shadow_stack',
  'pkey_mprotect', 'pkey_alloc', 'pkey_free',
  // processes and threads
  'execve', 'execveat', 'exit', 'exit_group', 'fork', 'vfork', 'wait4', 'waitid', 'waitpid',
  'kill', 'tkill', 'tgkill', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'pidfd_open', 'pidfd_send_signal', 'process_mrelease',
  'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid',
  'set_tid_address', 'set_robust_list', 'get_robust_list', 'rseq', 'arch_prctl', 'prctl',
  'set_thread_area', 'get_thread_area', 'modify_ldt',
  'getrlimit', 'ugetrlimit', 'setrlimit', 'prlimit64', 'getrusage', 'times',
  'getpriority', 'setpriority', 'nice', 'sched_yield', 'sched_getaffinity', 'sched_setaffinity',
  'sched_getparam', 'sched_setparam', 'sched_getscheduler', 'sched_setscheduler', 'sched_getattr', 'sched_setattr',
  'sched_get_priority_max', 'sched_get_priority_min', 'sched_rr_get_interval', 'sched_rr_get_interval_time64',
  'ioprio_get', 'ioprio_set', 'getcpu', 'uname', 'olduname', 'sysinfo', 'getrandom', 'seccomp',
  'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  'lsm_get_self_attr', 'lsm_set_self_attr', 'lsm_list_modules',
  // identity (the kernel checks CAP_SETUID/CAP_SETGID)
  'getuid', 'getuid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getegid', 'getegid32',
  'setuid', 'setuid32', 'setgid', 'setgid32', 'setreuid', 'setreuid32', 'setregid', 'setregid32',
  'setresuid', 'setresuid32', 'setresgid', 'setresgid32', 'getresuid', 'getresuid32', 'getresgid', 'getresgid32',
  'setfsuid', 'setfsuid32', 'setfsgid', 'setfsgid32', 'getgroups', 'getgroups32', 'setgroups', 'setgroups32',
  'capget', 'capset',
  // signals
  'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64',
  'sigaction', 'sigprocmask', 'sigreturn', 'sigpending', 'sigsuspend', 'signal', 'sigaltstack',
  'signalfd', 'signalfd4', 'pause', 'alarm', 'restart_syscall',
  // time (reading it; setting it needs CAP_SYS_TIME below)
  'time', 'gettimeofday', 'clock_gettime', 'clock_gettime64', 'clock_getres', 'clock_getres_time64',
  'clock_nanosleep', 'clock_nanosleep_time64', 'nanosleep', 'getitimer', 'setitimer',
  'timer_create', 'timer_delete', 'timer_settime', 'timer_settime64', 'timer_gettime', 'timer_gettime64', 'timer_getoverrun',
  'timerfd_create', 'timerfd_settime', 'timerfd_settime64', 'timerfd_gettime', 'timerfd_gettime64',
  // waiting for events
  'poll', 'ppoll', 'ppoll_time64', 'select', '_newselect', 'pselect6', 'pselect6_time64',
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'eventfd', 'eventfd2',
  'futex', 'futex_time64', 'futex_waitv', 'futex_wake', 'futex_wait', 'futex_requeue',
  'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64',
  // System V and POSIX IPC (namespaced by the ipc namespace)
  'ipc', 'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'semctl',
  'shmget', 'shmat', 'shmdt', 'shmctl',
  'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedsend_time64', 'mq_timedreceive', 'mq_timedreceive_time64',
  'mq_notify', 'mq_getsetattr',
  // sockets (namespaced by the network namespace)
  'socket', 'socketpair', 'socketcall', 'bind', 'connect', 'listen', 'accept', 'accept4',
  'getsockname', 'getpeername', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg',
  'recvmmsg_time64', 'setsockopt', 'getsockopt', 'shutdown',
];

/** Syscalls Docker allows only with a capability; the kernel then checks that capability itself. */
export const SYSCALLS_BY_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  CAP_SYS_ADMIN: [
    'mount', 'umount', 'umount2', 'pivot_root', 'unshare', 'setns', 'clone', 'clone3',
    'fsopen', 'fsconfig', 'fsmount', 'fspick', 'open_tree', 'open_tree_attr', 'move_mount', 'mount_setattr',
    'name_to_handle_at', 'quotactl', 'quotactl_fd', 'swapon', 'swapoff', 'sethostname', 'setdomainname',
    'fanotify_init', 'lookup_dcookie', 'bpf', 'perf_event_open', 'syslog',
  ],
  CAP_SYS_PTRACE: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'process_madvise', 'userfaultfd'],
  CAP_SYS_MODULE: ['init_module', 'finit_module', 'delete_module'],
  CAP_SYS_BOOT: ['reboot', 'kexec_load', 'kexec_file_load'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'adjtimex', 'clock_adjtime', 'clock_adjtime64'],
  CAP_SYS_CHROOT: ['chroot'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_NICE: ['get_mempolicy', 'set_mempolicy', 'set_mempolicy_home_node', 'mbind', 'move_pages', 'migrate_pages'],
  CAP_SYSLOG: ['syslog'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
};

/** SCMP_ARCH_* of a native architecture: the ABIs a profile made for it lists. */
export const SECCOMP_ARCHES_FOR_NATIVE: Readonly<Record<string, string[]>> = {
  SCMP_ARCH_X86_64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  SCMP_ARCH_X86: ['SCMP_ARCH_X86'],
  // 32-bit arm binaries would need an arm table Berth does not carry; they get
  // the bad-architecture action.
  SCMP_ARCH_AARCH64: ['SCMP_ARCH_AARCH64'],
};

/** Node's process.arch as SCMP_ARCH_* (undefined: none Berth knows). */
export function seccompNativeArch(arch: string = process.arch): string | undefined {
  return ({ x64: 'SCMP_ARCH_X86_64', ia32: 'SCMP_ARCH_X86', arm64: 'SCMP_ARCH_AARCH64' } as Record<string, string>)[arch]
    ?? (arch.startsWith('SCMP_ARCH_') ? arch : undefined);
}

function normalizeCap(c: string): string {
  const u = c.trim().toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

export interface ProfileOptions {
  /** the container's capabilities (bounding set), "CAP_SYS_ADMIN" or "SYS_ADMIN" */
  capabilities: string[];
  /** SCMP_ARCH_* values to list */
  architectures: string[];
  /** keeps only names one of the architectures has (default: every name) */
  known?: (name: string) => boolean;
}

/** The profile for a container holding `capabilities`. */
export function buildSeccompProfile(opts: ProfileOptions): SeccompProfile {
  const known = opts.known ?? ((): boolean => true);
  const caps = new Set(opts.capabilities.map(normalizeCap));
  const allowed = new Set(DEFAULT_ALLOWED_SYSCALLS);
  for (const [cap, names] of Object.entries(SYSCALLS_BY_CAPABILITY)) {
    if (caps.has(cap)) for (const n of names) allowed.add(n);
  }
  const syscalls: SeccompProfileRule[] = [{ names: [...allowed].filter(known).sort(), action: 'SCMP_ACT_ALLOW' }];
  for (const value of SAFE_PERSONALITIES) {
    syscalls.push({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] });
  }
  if (!caps.has('CAP_SYS_ADMIN')) {
    // clone's flags are argument 0 on every architecture Berth has a table for.
    syscalls.push({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, architectures: [...opts.architectures], syscalls };
}
