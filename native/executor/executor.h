/* The plan executor: what happens between receiving an EXECUTE plan and
 * execve() of the container process. The front (native/front) drives it;
 * the container process ("B") runs the set-up steps of container.c. */
#ifndef BERTH_EXECUTOR_H
#define BERTH_EXECUTOR_H

#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

/* A failed step, reported to the planner as FAILED (STEP, ERRNO, MESSAGE). */
struct failure {
	char step[160];
	int err;
	char msg[512];
};

/* Fills f and returns -1, so a step can `return fail(f, …)`. */
int fail(struct failure *f, int err, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A decoded EXECUTE message plus the facts the front needs before the clone. */
struct plan {
	struct wmsg msg;
	uint32_t kind;
	uint32_t ns_new;
	int joins_user; /* an NS_JOIN of a user namespace */
	int terminal;
	char *console_socket; /* NULL when the front keeps the master */
	uint32_t preserve_fds;
	unsigned long front_mntns; /* inode of the front's mount namespace */
};

/* Takes ownership of m. 0 = ok, -1 = malformed plan (f filled). */
int plan_load(struct plan *p, struct wmsg *m, struct failure *f);
void plan_free(struct plan *p);
/* Iterates the plan's records: 1 = got one, 0 = end. */
int plan_next(const struct plan *p, size_t *pos, struct wrec *r);
int plan_has(const struct plan *p, uint16_t tag);

/* Sync messages between the front and the container process travel over a
 * SOCK_SEQPACKET pair in the planner's framing; these types are private to
 * that pair. */
#define SYNC_MASTER 200 /* DATA: pty slave name; carries the master fd */

int sync_pair(int fds[2]);
/* Sends a built message, optionally with an fd (SCM_RIGHTS). */
/* sendmsg of data with fd attached by SCM_RIGHTS (none when fd < 0) */
int send_with_fd(int sock, const void *data, size_t len, int fd);
/* a FAILED message (step, errno, message) in b */
void wbuf_failed(struct wbuf *b, const struct failure *f);
int sync_send(int sock, struct wbuf *b, int fd);
/* 0 = message, 1 = EOF, -1 = error. *fd receives a passed fd or -1. */
int sync_recv(int sock, struct wmsg *m, int *fd);
int sync_send_failed(int sock, const struct failure *f);
/* Decodes a FAILED message into f. */
void sync_read_failed(const struct wmsg *m, struct failure *f);

/* The container process as seen from the front. */
struct child {
	pid_t pid;
	int sync;   /* the front's end of the sync socket, -1 when closed */
	int master; /* pty master handed over by the child, -1 if none */
	int ready;
};

/* Forks the intermediate process, which joins namespaces and clones the
 * container process as a sibling (CLONE_PARENT). 0 = c filled, -1 = f filled. */
int executor_start(const struct plan *p, int planner_fd, struct child *c, struct failure *f);

/* Container process side (never return). */
/* fifo: the exec fifo opened O_PATH by the front (-1 when the plan has none) */
void container_main(const struct plan *p, int sync, pid_t front, int fifo) __attribute__((noreturn));
/* the container process's pid in the host's pid namespace (for hook state) */
extern pid_t container_host_pid;
/* The planner cannot know host pids when it builds a plan: it writes @PID@
 * in hook state and listener messages. Replaces each with pid; frees text. */
char *fill_pid(char *text, pid_t pid);

/* Path resolution that never leaves the root (resolve.c). */
enum resolve_create { RESOLVE_EXISTING, CREATE_DIR, CREATE_FILE };
/* Opens path (absolute inside the root of rootfd) as an O_PATH fd. */
int resolve_in_root(int rootfd, const char *path, enum resolve_create how);
/* Opens the parent directory of path and returns it; *name points into path. */
int resolve_parent(int rootfd, const char *path, const char **name);

/* Set-up steps (mounts.c). */
int prepare_rootfs(const struct plan *p, const char *rootfs, int *rootfd, struct failure *f);
int do_mount(int rootfd, const struct wrec *r, struct failure *f);
int do_mknod(int rootfd, const struct wrec *r, struct failure *f);
int do_bind_device(int rootfd, const struct wrec *r, struct failure *f);
int do_symlink(int rootfd, const struct wrec *r, struct failure *f);
int switch_root(const char *rootfs, uint32_t mode, struct failure *f);
int root_propagation(const struct plan *p, struct failure *f);
/* front: make the plan's idmapped trees before the clone; release them after */
int idmap_prepare(const struct plan *p, struct failure *f);
void idmap_release(void);
int do_mask(const struct wrec *r, struct failure *f);
int do_readonly(const struct wrec *r, struct failure *f);
int root_readonly(struct failure *f);
unsigned long locked_flags(const char *path);

/* The pty of a TERMINAL plan (terminal.c). */
/* is_init: also bind the slave onto /dev/console, as a container's init expects */
int setup_terminal(const struct wrec *r, int sync, int is_init, struct failure *f);

/* The process steps and exec (process.c). */
struct exec_target {
	char *path;
	char **argv;
	char **envp;
};
int process_setup(const struct plan *p, int sync, struct exec_target *t, struct failure *f);
/* Loads the SECCOMP filter at its point: early (before the capability drop)
 * when the plan has no NO_NEW_PRIVS or wants a listener, late (just before
 * execve) otherwise. A listener fd goes to the front over sync. */
int seccomp_load(const struct plan *p, int late, int sync, struct failure *f);
#define SYNC_SECCOMP 201 /* carries the seccomp listener fd */
void remember_self_exe(void);
int start_hooks(const struct plan *p, struct failure *f);

#endif
