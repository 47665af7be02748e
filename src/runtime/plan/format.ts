/**
 * The wire format between the TypeScript planner and the C front/executor
 * (`native/`), declared once. `scripts/gen-native-headers.ts` turns this file
 * into `native/include/berth/wire.h`; a unit test fails when the committed
 * header drifts from it.
 *
 * Framing: every message is `u32 length (LE, of what follows) | u16 type |
 * records…`. A record is `u16 tag | u32 length | payload`. A payload is the
 * record's fields in declared order:
 *   u32, i32  4 bytes LE          u64  8 bytes LE
 *   str, bytes  u32 length + raw bytes (strings are UTF-8, no NUL)
 *   strs        u32 count + that many `str`
 *   u32s        u32 count + that many u32
 *
 * Why not JSON: the C side must stay small and boring; a tag/length format is
 * parsed with a dozen lines of C and cannot be ambiguous.
 */

export type FieldType = 'u32' | 'i32' | 'u64' | 'str' | 'bytes' | 'strs' | 'u32s';

export interface RecordSpec {
  readonly tag: number;
  readonly fields: readonly (readonly [string, FieldType])[];
  readonly doc: string;
}

/** Messages: the front (C) talks first, the planner (TypeScript) answers. */
export const MessageType = {
  // front → planner
  REQUEST: 1, // ARG…, CWD, STDIN_TTY, FRONT_PID: one invocation of berth-runtime
  STDIN: 2, // DATA; an empty DATA means end of input
  CHILD: 3, // PID: the container process exists and waits for CONTINUE
  HOOK: 4, // HOOK_POINT: the child reached a hook point and waits for CONTINUE
  READY: 5, // the child finished set-up (init: waits on the exec fifo; exec: has exec'd)
  FAILED: 6, // STEP, ERRNO, MESSAGE: set-up failed; the child is already reaped
  EXITED: 7, // STATUS: the waited-for process exited (raw wait status)
  // planner → front
  OUTPUT: 101, // FD, DATA: write DATA to the front's stdout (1) or stderr (2)
  EXIT: 102, // CODE: exit with CODE; the conversation is over
  NEED_STDIN: 103, // send the whole of stdin as STDIN messages
  EXECUTE: 104, // plan records: clone the container process and run the plan
  CONTINUE: 105, // resume the child after CHILD or HOOK
  ABORT: 106, // kill and reap the child, then answer FAILED (step "abort")
  WAIT: 107, // wait for the child to exit (forward signals, proxy a terminal), answer EXITED
  // berth-sandbox, on the supervisor's socket (native/sandbox)
  SANDBOX_TABLE: 150, // front → supervisor: the plan's SANDBOX_* records
  SANDBOX_LISTENER: 151, // container process → supervisor: the notify listener fd (SCM_RIGHTS)
} as const;

/** Records of the conversation messages (not of plans). */
export const MessageRecords = {
  ARG: { tag: 1, fields: [['value', 'str']], doc: 'one argv element, argv[0] first' },
  CWD: { tag: 2, fields: [['path', 'str']], doc: "the caller's working directory" },
  STDIN_TTY: { tag: 3, fields: [['isTty', 'u32']], doc: '1 when stdin is a terminal' },
  FRONT_PID: { tag: 4, fields: [['pid', 'u32']], doc: "the front's own pid" },
  DATA: { tag: 5, fields: [['data', 'bytes']], doc: 'a chunk of a stream' },
  PID: { tag: 6, fields: [['pid', 'u32']], doc: 'host pid of the container process' },
  HOOK_POINT: { tag: 7, fields: [['point', 'u32']], doc: 'see HookPoint' },
  STEP: { tag: 8, fields: [['step', 'str']], doc: 'the set-up step that failed, e.g. "mount /proc"' },
  ERRNO: { tag: 9, fields: [['errno', 'u32']], doc: 'errno of the failure, 0 if none' },
  MESSAGE: { tag: 10, fields: [['message', 'str']], doc: 'human readable detail' },
  STATUS: { tag: 11, fields: [['status', 'u32']], doc: 'raw wait status (WIFEXITED…)' },
  FD: { tag: 12, fields: [['fd', 'u32']], doc: '1 = stdout, 2 = stderr' },
  CODE: { tag: 13, fields: [['code', 'u32']], doc: 'process exit code' },
  ENV: { tag: 14, fields: [['value', 'str']], doc: 'one NAME=value of the caller environment worth passing' },
} as const satisfies Record<string, RecordSpec>;

export const PlanKind = { INIT: 1, EXEC: 2 } as const;
export const HookPoint = { CREATE_RUNTIME: 1 } as const;
export const RootSwitch = { PIVOT_ROOT: 1, MOVE_CHROOT: 2 } as const;
/** SANDBOX_PATH.deny: which opens of the path are refused. */
export const SandboxPathDeny = { WRITE: 1, OPEN: 2 } as const;
/** What berth-sandbox's supervisor does with a notified call (SANDBOX_RULE.action). */
export const SandboxAction = {
  /** let the kernel run it as the caller asked (SECCOMP_USER_NOTIF_FLAG_CONTINUE) */
  CONTINUE: 1,
  /** fail with the rule's errno and write an audit line */
  REFUSE: 2,
  /** open family: resolved and opened by the supervisor in the caller's root, the fd injected */
  OPEN: 3,
  /** uname: the policy's kernel name and release */
  UNAME: 4,
  /** sysinfo: memory from the cgroup's limit */
  SYSINFO: 5,
  /** getdents/getdents64: done by the supervisor on the caller's own file, /proc's listing without other containers' pids */
  GETDENTS: 6,
} as const;

/** MOUNT.extra bits. */
export const MountExtra = {
  /** the bind source is not a directory: create a file at the destination */
  FILE_TARGET: 1,
  /** bind mount: apply `flags` in a second MS_REMOUNT|MS_BIND pass (ro, nosuid …) */
  REMOUNT: 2,
  /** make the whole recursive bind read-only (mount_setattr AT_RECURSIVE) */
  RECURSIVE_RO: 4,
  /** `source` is a path inside the rootfs, resolved like the destination */
  SOURCE_IN_ROOT: 8,
  /** mount with the new mount API and an idmapping (uidMappings/gidMappings) */
  IDMAP: 16,
  /** do not create the destination; fail when it is missing */
  NO_CREATE: 32,
} as const;

/**
 * Plan records, inside an EXECUTE message, carried out in order by the
 * executor. Namespace and process records are acted on at fixed points
 * (documented per record); mount-like records run in the order given.
 */
export const PlanRecords = {
  KIND: { tag: 1, fields: [['kind', 'u32']], doc: 'PlanKind: INIT (create) or EXEC' },
  NS_JOIN: { tag: 2, fields: [['nstype', 'u32'], ['path', 'str']], doc: 'setns() into path (CLONE_NEW* type), in record order, before the clone' },
  NS_NEW: { tag: 3, fields: [['flags', 'u32']], doc: 'CLONE_NEW* flags for the clone of the container process' },
  TIMENS_OFFSETS: { tag: 4, fields: [['offsets', 'str']], doc: 'written to timens_offsets before the process enters the new time namespace' },
  UNSHARE: { tag: 5, fields: [['flags', 'u32']], doc: 'unshare() in the child after CONTINUE (cgroup namespace after the cgroup join)' },
  ROOTFS: { tag: 6, fields: [['path', 'str']], doc: 'host path of the root filesystem' },
  ROOTFS_PROPAGATION: { tag: 7, fields: [['flags', 'u64']], doc: 'propagation applied to / first (MS_SLAVE|MS_REC by default), then to the rootfs' },
  MOUNT: {
    tag: 8,
    fields: [
      ['source', 'str'], ['dest', 'str'], ['fstype', 'str'], ['flags', 'u64'], ['propagation', 'u64'],
      ['data', 'str'], ['extra', 'u32'], ['uidMappings', 'str'], ['gidMappings', 'str'],
    ],
    doc: 'mount at dest (absolute inside the rootfs, resolved without leaving it); extra is MountExtra bits',
  },
  MKNOD: { tag: 9, fields: [['path', 'str'], ['mode', 'u32'], ['major', 'u32'], ['minor', 'u32'], ['uid', 'u32'], ['gid', 'u32']], doc: 'create a device node inside the rootfs' },
  BIND_DEVICE: { tag: 10, fields: [['path', 'str'], ['hostPath', 'str']], doc: 'bind the host device hostPath onto path (user namespaces cannot mknod)' },
  SYMLINK: { tag: 11, fields: [['target', 'str'], ['path', 'str']], doc: 'create symlink path -> target inside the rootfs' },
  HOOK_POINT: { tag: 12, fields: [['point', 'u32']], doc: 'report HOOK with this point and wait for CONTINUE' },
  ROOT_SWITCH: { tag: 13, fields: [['mode', 'u32']], doc: 'RootSwitch: pivot_root, or MS_MOVE + chroot (--no-pivot)' },
  MASK: { tag: 14, fields: [['path', 'str']], doc: 'after the root switch: hide path (/dev/null over files, empty ro tmpfs over dirs); missing paths are skipped' },
  READONLY: { tag: 15, fields: [['path', 'str']], doc: 'after the root switch: bind path onto itself read-only; missing paths are skipped' },
  ROOT_READONLY: { tag: 16, fields: [], doc: 'after the root switch: remount / read-only' },
  SYSCTL: { tag: 17, fields: [['key', 'str'], ['value', 'str']], doc: 'write /proc/sys/<key with dots as slashes>' },
  HOSTNAME: { tag: 18, fields: [['name', 'str']], doc: 'sethostname' },
  DOMAINNAME: { tag: 19, fields: [['name', 'str']], doc: 'setdomainname' },
  TERMINAL: { tag: 20, fields: [['rows', 'u32'], ['cols', 'u32']], doc: 'open a pty inside the container (after the root switch), make the slave the stdio and controlling tty, hand the master to the front' },
  CONSOLE_SOCKET: { tag: 21, fields: [['path', 'str']], doc: 'front: send the pty master over this unix socket (SCM_RIGHTS), as runc does' },
  EXEC_FIFO: { tag: 22, fields: [['path', 'str']], doc: 'init: opened O_PATH before the root switch; after set-up open it for writing (blocks until start), write one byte, then exec' },
  RLIMIT: { tag: 23, fields: [['resource', 'u32'], ['soft', 'u64'], ['hard', 'u64']], doc: 'setrlimit (RLIM_INFINITY = 2^64-1)' },
  OOM_SCORE_ADJ: { tag: 24, fields: [['value', 'i32']], doc: 'write /proc/self/oom_score_adj' },
  APPARMOR: { tag: 25, fields: [['profile', 'str']], doc: 'apply on exec (attr/apparmor/exec, else attr/exec)' },
  SELINUX: { tag: 26, fields: [['label', 'str']], doc: 'write attr/exec' },
  USER: { tag: 27, fields: [['uid', 'u32'], ['gid', 'u32'], ['groups', 'u32s']], doc: 'setgroups, setresgid, setresuid (keeping capabilities through the switch)' },
  UMASK: { tag: 28, fields: [['mask', 'u32']], doc: 'umask' },
  CAPS: { tag: 29, fields: [['bounding', 'u64'], ['effective', 'u64'], ['permitted', 'u64'], ['inheritable', 'u64'], ['ambient', 'u64']], doc: 'capability sets as bitmasks (bit n = capability n)' },
  NO_NEW_PRIVS: { tag: 30, fields: [], doc: 'prctl(PR_SET_NO_NEW_PRIVS)' },
  SECCOMP: { tag: 31, fields: [['flags', 'u32'], ['filter', 'bytes'], ['listenerPath', 'str'], ['listenerMessage', 'str']], doc: 'struct sock_filter[] to load with seccomp(SECCOMP_SET_MODE_FILTER, flags); with a listener, the front sends its fd to listenerPath with listenerMessage (the container process state JSON, @PID@ replaced by the host pid)' },
  CWD: { tag: 32, fields: [['path', 'str']], doc: 'chdir after the root switch; must stay inside the root' },
  ENV: { tag: 33, fields: [['values', 'strs']], doc: 'the environment of the process' },
  ARGS: { tag: 34, fields: [['values', 'strs']], doc: "argv; argv[0] is searched in the container's PATH when it has no slash" },
  PRESERVE_FDS: { tag: 35, fields: [['count', 'u32']], doc: 'keep fds 3 .. 3+count-1 open in the process' },
  START_HOOK: { tag: 36, fields: [['path', 'str'], ['args', 'strs'], ['env', 'strs'], ['timeout', 'i32'], ['state', 'str']], doc: 'init: run in the container after the fifo released it, before exec, with the state JSON on stdin; the executor replaces the text @PID@ in state with its host pid (readlink /proc/self before its mounts)' },
  SETSID: { tag: 37, fields: [], doc: 'setsid() (init)' },
  PERSONALITY: { tag: 38, fields: [['domain', 'u32']], doc: 'personality(domain)' },
  SCHEDULER: { tag: 39, fields: [['policy', 'u32'], ['nice', 'i32'], ['priority', 'u32'], ['flags', 'u64'], ['runtime', 'u64'], ['deadline', 'u64'], ['period', 'u64']], doc: 'sched_setattr' },
  IOPRIORITY: { tag: 40, fields: [['class', 'u32'], ['priority', 'u32']], doc: 'ioprio_set' },
  KEYRING: { tag: 41, fields: [['name', 'str']], doc: 'join a new session keyring with this name' },
  CPU_AFFINITY: { tag: 42, fields: [['cpus', 'u32s']], doc: 'sched_setaffinity for the final process' },
  SANDBOX: { tag: 43, fields: [['supervisor', 'str'], ['audit', 'str'], ['filter', 'bytes'], ['arch', 'u32']], doc: 'berth-sandbox: the front starts supervisor before the clone and hands it the SANDBOX_* records; the process loads filter (SECCOMP_FILTER_FLAG_NEW_LISTENER) after its own SECCOMP and sends the listener to the supervisor; refusals are appended to audit; arch is the AUDIT_ARCH the table numbers belong to' },
  SANDBOX_RULE: { tag: 44, fields: [['nr', 'u32'], ['action', 'u32'], ['errno', 'u32'], ['name', 'str']], doc: 'supervisor table: what to do with a notified call (SandboxAction); errno for REFUSE; name for the audit log' },
  SANDBOX_DEFAULT: { tag: 45, fields: [['action', 'u32'], ['errno', 'u32']], doc: 'supervisor table: calls without a SANDBOX_RULE (and other architectures)' },
  SANDBOX_UNAME: { tag: 46, fields: [['sysname', 'str'], ['release', 'str'], ['version', 'str']], doc: 'supervisor: what the emulated uname reports (nodename, domainname and machine stay real)' },
  SANDBOX_PATH: { tag: 47, fields: [['prefix', 'str'], ['deny', 'u32'], ['errno', 'u32']], doc: 'supervisor: opens of files at prefix (inside the container, as resolved) are refused with errno; deny is SandboxPathDeny' },
} as const satisfies Record<string, RecordSpec>;

export type PlanRecordName = keyof typeof PlanRecords;
export type MessageRecordName = keyof typeof MessageRecords;
