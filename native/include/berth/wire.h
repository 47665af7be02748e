/* Generated from src/runtime/plan/format.ts by scripts/gen-native-headers.ts. Do not edit. */
#ifndef BERTH_WIRE_H
#define BERTH_WIRE_H

/* Message types */
#define BERTH_MSG_REQUEST 1
#define BERTH_MSG_STDIN 2
#define BERTH_MSG_CHILD 3
#define BERTH_MSG_HOOK 4
#define BERTH_MSG_READY 5
#define BERTH_MSG_FAILED 6
#define BERTH_MSG_EXITED 7
#define BERTH_MSG_OUTPUT 101
#define BERTH_MSG_EXIT 102
#define BERTH_MSG_NEED_STDIN 103
#define BERTH_MSG_EXECUTE 104
#define BERTH_MSG_CONTINUE 105
#define BERTH_MSG_ABORT 106
#define BERTH_MSG_WAIT 107
#define BERTH_MSG_SANDBOX_TABLE 150
#define BERTH_MSG_SANDBOX_LISTENER 151

/* Conversation records */
/* one argv element, argv[0] first — str value */
#define BERTH_REC_ARG 1
/* the caller's working directory — str path */
#define BERTH_REC_CWD 2
/* 1 when stdin is a terminal — u32 isTty */
#define BERTH_REC_STDIN_TTY 3
/* the front's own pid — u32 pid */
#define BERTH_REC_FRONT_PID 4
/* a chunk of a stream — bytes data */
#define BERTH_REC_DATA 5
/* host pid of the container process — u32 pid */
#define BERTH_REC_PID 6
/* see HookPoint — u32 point */
#define BERTH_REC_HOOK_POINT 7
/* the set-up step that failed, e.g. "mount /proc" — str step */
#define BERTH_REC_STEP 8
/* errno of the failure, 0 if none — u32 errno */
#define BERTH_REC_ERRNO 9
/* human readable detail — str message */
#define BERTH_REC_MESSAGE 10
/* raw wait status (WIFEXITED…) — u32 status */
#define BERTH_REC_STATUS 11
/* 1 = stdout, 2 = stderr — u32 fd */
#define BERTH_REC_FD 12
/* process exit code — u32 code */
#define BERTH_REC_CODE 13
/* one NAME=value of the caller environment worth passing — str value */
#define BERTH_REC_ENV 14

/* Plan records */
/* PlanKind: INIT (create) or EXEC — u32 kind */
#define BERTH_PLAN_KIND 1
/* setns() into path (CLONE_NEW* type), in record order, before the clone — u32 nstype, str path */
#define BERTH_PLAN_NS_JOIN 2
/* CLONE_NEW* flags for the clone of the container process — u32 flags */
#define BERTH_PLAN_NS_NEW 3
/* written to timens_offsets before the process enters the new time namespace — str offsets */
#define BERTH_PLAN_TIMENS_OFFSETS 4
/* unshare() in the child after CONTINUE (cgroup namespace after the cgroup join) — u32 flags */
#define BERTH_PLAN_UNSHARE 5
/* host path of the root filesystem — str path */
#define BERTH_PLAN_ROOTFS 6
/* propagation applied to / first (MS_SLAVE|MS_REC by default), then to the rootfs — u64 flags */
#define BERTH_PLAN_ROOTFS_PROPAGATION 7
/* mount at dest (absolute inside the rootfs, resolved without leaving it); extra is MountExtra bits — str source, str dest, str fstype, u64 flags, u64 propagation, str data, u32 extra, str uidMappings, str gidMappings */
#define BERTH_PLAN_MOUNT 8
/* create a device node inside the rootfs — str path, u32 mode, u32 major, u32 minor, u32 uid, u32 gid */
#define BERTH_PLAN_MKNOD 9
/* bind the host device hostPath onto path (user namespaces cannot mknod) — str path, str hostPath */
#define BERTH_PLAN_BIND_DEVICE 10
/* create symlink path -> target inside the rootfs — str target, str path */
#define BERTH_PLAN_SYMLINK 11
/* report HOOK with this point and wait for CONTINUE — u32 point */
#define BERTH_PLAN_HOOK_POINT 12
/* RootSwitch: pivot_root, or MS_MOVE + chroot (--no-pivot) — u32 mode */
#define BERTH_PLAN_ROOT_SWITCH 13
/* after the root switch: hide path (/dev/null over files, empty ro tmpfs over dirs); missing paths are skipped — str path */
#define BERTH_PLAN_MASK 14
/* after the root switch: bind path onto itself read-only; missing paths are skipped — str path */
#define BERTH_PLAN_READONLY 15
/* after the root switch: remount / read-only — no fields */
#define BERTH_PLAN_ROOT_READONLY 16
/* write /proc/sys/<key with dots as slashes> — str key, str value */
#define BERTH_PLAN_SYSCTL 17
/* sethostname — str name */
#define BERTH_PLAN_HOSTNAME 18
/* setdomainname — str name */
#define BERTH_PLAN_DOMAINNAME 19
/* open a pty inside the container (after the root switch), make the slave the stdio and controlling tty, hand the master to the front — u32 rows, u32 cols */
#define BERTH_PLAN_TERMINAL 20
/* front: send the pty master over this unix socket (SCM_RIGHTS), as runc does — str path */
#define BERTH_PLAN_CONSOLE_SOCKET 21
/* init: opened O_PATH before the root switch; after set-up open it for writing (blocks until start), write one byte, then exec — str path */
#define BERTH_PLAN_EXEC_FIFO 22
/* setrlimit (RLIM_INFINITY = 2^64-1) — u32 resource, u64 soft, u64 hard */
#define BERTH_PLAN_RLIMIT 23
/* write /proc/self/oom_score_adj — i32 value */
#define BERTH_PLAN_OOM_SCORE_ADJ 24
/* apply on exec (attr/apparmor/exec, else attr/exec) — str profile */
#define BERTH_PLAN_APPARMOR 25
/* write attr/exec — str label */
#define BERTH_PLAN_SELINUX 26
/* setgroups, setresgid, setresuid (keeping capabilities through the switch) — u32 uid, u32 gid, u32s groups */
#define BERTH_PLAN_USER 27
/* umask — u32 mask */
#define BERTH_PLAN_UMASK 28
/* capability sets as bitmasks (bit n = capability n) — u64 bounding, u64 effective, u64 permitted, u64 inheritable, u64 ambient */
#define BERTH_PLAN_CAPS 29
/* prctl(PR_SET_NO_NEW_PRIVS) — no fields */
#define BERTH_PLAN_NO_NEW_PRIVS 30
/* struct sock_filter[] to load with seccomp(SECCOMP_SET_MODE_FILTER, flags); with a listener, the front sends its fd to listenerPath with listenerMessage (the container process state JSON, @PID@ replaced by the host pid) — u32 flags, bytes filter, str listenerPath, str listenerMessage */
#define BERTH_PLAN_SECCOMP 31
/* chdir after the root switch; must stay inside the root — str path */
#define BERTH_PLAN_CWD 32
/* the environment of the process — strs values */
#define BERTH_PLAN_ENV 33
/* argv; argv[0] is searched in the container's PATH when it has no slash — strs values */
#define BERTH_PLAN_ARGS 34
/* keep fds 3 .. 3+count-1 open in the process — u32 count */
#define BERTH_PLAN_PRESERVE_FDS 35
/* init: run in the container after the fifo released it, before exec, with the state JSON on stdin; the executor replaces the text @PID@ in state with its host pid (readlink /proc/self before its mounts) — str path, strs args, strs env, i32 timeout, str state */
#define BERTH_PLAN_START_HOOK 36
/* setsid() (init) — no fields */
#define BERTH_PLAN_SETSID 37
/* personality(domain) — u32 domain */
#define BERTH_PLAN_PERSONALITY 38
/* sched_setattr — u32 policy, i32 nice, u32 priority, u64 flags, u64 runtime, u64 deadline, u64 period */
#define BERTH_PLAN_SCHEDULER 39
/* ioprio_set — u32 class, u32 priority */
#define BERTH_PLAN_IOPRIORITY 40
/* join a new session keyring with this name — str name */
#define BERTH_PLAN_KEYRING 41
/* sched_setaffinity for the final process — u32s cpus */
#define BERTH_PLAN_CPU_AFFINITY 42
/* berth-sandbox: the front starts supervisor before the clone and hands it the SANDBOX_* records; the process loads filter (SECCOMP_FILTER_FLAG_NEW_LISTENER) after its own SECCOMP and sends the listener to the supervisor; refusals are appended to audit; arch is the AUDIT_ARCH the table numbers belong to — str supervisor, str audit, bytes filter, u32 arch */
#define BERTH_PLAN_SANDBOX 43
/* supervisor table: what to do with a notified call (SandboxAction); errno for REFUSE; name for the audit log — u32 nr, u32 action, u32 errno, str name */
#define BERTH_PLAN_SANDBOX_RULE 44
/* supervisor table: calls without a SANDBOX_RULE (and other architectures) — u32 action, u32 errno */
#define BERTH_PLAN_SANDBOX_DEFAULT 45
/* supervisor: what the emulated uname reports (nodename, domainname and machine stay real) — str sysname, str release, str version */
#define BERTH_PLAN_SANDBOX_UNAME 46
/* supervisor: opens of files at prefix (inside the container, as resolved) are refused with errno; deny is SandboxPathDeny — str prefix, u32 deny, u32 errno */
#define BERTH_PLAN_SANDBOX_PATH 47

#define BERTH_KIND_INIT 1
#define BERTH_KIND_EXEC 2
#define BERTH_HOOK_CREATE_RUNTIME 1
#define BERTH_ROOT_PIVOT_ROOT 1
#define BERTH_ROOT_MOVE_CHROOT 2
#define BERTH_MOUNT_FILE_TARGET 1
#define BERTH_MOUNT_REMOUNT 2
#define BERTH_MOUNT_RECURSIVE_RO 4
#define BERTH_MOUNT_SOURCE_IN_ROOT 8
#define BERTH_MOUNT_IDMAP 16
#define BERTH_MOUNT_NO_CREATE 32
#define BERTH_SANDBOX_CONTINUE 1
#define BERTH_SANDBOX_REFUSE 2
#define BERTH_SANDBOX_OPEN 3
#define BERTH_SANDBOX_UNAME 4
#define BERTH_SANDBOX_SYSINFO 5
#define BERTH_SANDBOX_GETDENTS 6
#define BERTH_SANDBOX_DENY_WRITE 1
#define BERTH_SANDBOX_DENY_OPEN 2

#endif
