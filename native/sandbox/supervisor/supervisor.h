/* berth-sandbox-supervisor: one per sandboxed process tree (the init's, or
 * one `exec`'s), outside the container. It receives the notify listener of
 * the filter the process loaded and answers each notified call by the
 * policy table the planner compiled (src/sandbox/policy). The per-call
 * decision is C; TypeScript decided the table. See ../README.md. */
#ifndef BERTH_SUPERVISOR_H
#define BERTH_SUPERVISOR_H

#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TABLE_MAX_NR 1024
#define PATH_MAX_CG 4200

struct rule {
	uint8_t action; /* BERTH_SANDBOX_* (0: no rule, use the default) */
	uint16_t err;
	char *name;
};

struct path_rule {
	char *prefix;
	size_t len;
	uint32_t deny; /* BERTH_SANDBOX_DENY_* */
	uint16_t err;
};

#define MAX_PATH_RULES 64
#define MAX_MOUNTS 4096

/* The mount ids of the container's mount namespace (from mountinfo), cached
 * per namespace: mounts change rarely, and mount(2) is refused. */
struct mounts {
	unsigned long ns;
	int n;
	int ids[MAX_MOUNTS];
};

struct sup {
	int listener;
	int audit;     /* JSON lines, O_APPEND */
	int hostproc;  /* the host's /proc (O_PATH) */
	int hostroot;  /* the host's / (O_PATH), to leave a chroot */
	uint32_t arch; /* AUDIT_ARCH of the table */
	struct rule rules[TABLE_MAX_NR];
	uint8_t default_action;
	uint16_t default_err;
	char sysname[65], release[65], version[65];
	struct path_rule paths[MAX_PATH_RULES];
	int npaths;
	int paths_anywhere; /* a path rule outside /proc and /sys: name every opened file */
	struct mounts mounts;
	pid_t first_pid;       /* the process that sent the listener */
	unsigned long userns;  /* inode of our user namespace */
	unsigned long pidns;   /* inode of our pid namespace: a container without one of its own shares it */
	int same_userns;       /* the container's processes share it */
};

/* table.c */
int table_load(struct sup *s, const uint8_t *msg, size_t len);

/* audit.c: one JSON line per refusal (and per supervisor error) */
void audit_refusal(struct sup *s, const struct seccomp_notif *n, const char *name, int err);
/* a refused open: the file (as resolved inside the container) and why */
void audit_path(struct sup *s, const struct seccomp_notif *n, const char *name, const char *path, const char *why, int err);
void audit_error(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* memory.c: the target's memory (process_vm_readv/writev) */
int mem_read(pid_t pid, uint64_t addr, void *buf, size_t n);
int mem_write(pid_t pid, uint64_t addr, const void *buf, size_t n);
/* Reads a NUL-terminated string of at most max-1 bytes; -errno on failure. */
int mem_read_str(pid_t pid, uint64_t addr, char *buf, size_t max);
/* 1 while the notification still stands (the target waits in the call). */
int notif_valid(int listener, uint64_t id);

/* creds.c: the supervisor's filesystem credentials switched to the caller's */
struct creds {
	uid_t fsuid;
	gid_t fsgid;
	gid_t groups[64];
	int ngroups;
	mode_t umask;
	uint64_t cap_eff;
	int same_userns;
	/* the caller's thread group, on the host and in its own pid namespace
	 * (the last NStgid/NSpid numbers): /proc/self and /proc/thread-self */
	pid_t tgid, ns_tgid, ns_pid;
};
int creds_read(struct sup *s, pid_t pid, struct creds *c);
int creds_enter(const struct creds *c);
void creds_leave(void);

/* open.c: open/openat/openat2/creat, resolved in the caller's root. 1 = replied. */
int handle_open(struct sup *s, const struct seccomp_notif *n, struct seccomp_notif_resp *resp);

/* dirents.c: getdents/getdents64, with /proc's listing filtered by pid_hidden. 1 = replied. */
int handle_getdents(struct sup *s, const struct seccomp_notif *n, struct seccomp_notif_resp *resp);

/* emulate.c */
int handle_uname(struct sup *s, const struct seccomp_notif *n, struct seccomp_notif_resp *resp);
int handle_sysinfo(struct sup *s, const struct seccomp_notif *n, struct seccomp_notif_resp *resp);
/* The container's view of a /proc file the supervisor opened: path is where
 * it lives inside the container. Returns a new read-only fd, -1 when the
 * file is not emulated, or -2 with *err set (e.g. ENOENT for a pid outside
 * the container). */
int proc_view(struct sup *s, pid_t pid, const char *path, int *err);
/* Which pids the caller's /proc may show (see pid_hidden). */
struct pid_view {
	pid_t caller;
	char ns[128];       /* the caller's pid namespace, "pid:[inode]" */
	int host;           /* it is the supervisor's (the host's) */
	char cgroup[4096];  /* with host: the caller's /proc/<pid>/cgroup */
};
int pid_view_of(struct sup *s, pid_t caller, struct pid_view *v);
/* 1 when pid `other` of the caller's /proc is not the container's */
int pid_hidden(struct sup *s, const struct pid_view *v, long other);
/* Memory limit and usage of pid's cgroup (bytes; limit 0 = none). */
void cgroup_memory(struct sup *s, pid_t pid, uint64_t *limit, uint64_t *usage, uint64_t *cache);

#endif
