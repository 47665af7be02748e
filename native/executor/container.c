/* The container process (B) from its clone to execve(): it waits for the
 * planner's CONTINUE (the planner writes the uid/gid maps and the cgroup in
 * between), then carries out the plan's steps at their fixed points. Any
 * failure goes back to the front as (step, errno, message) and B exits. */
#include "executor.h"
#include "../sandbox/sandbox.h"

#include <berth/wire.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void die(int sync, const struct failure *f)
{
	sync_send_failed(sync, f);
	_exit(1);
}

/* Blocks until the front relays CONTINUE; a vanished front ends B quietly. */
static void await_continue(int sync)
{
	struct wmsg m;
	int fd;
	if (sync_recv(sync, &m, &fd) != 0)
		_exit(1);
	if (fd >= 0)
		close(fd);
	uint16_t type = m.type;
	wire_free(&m);
	if (type != BERTH_MSG_CONTINUE)
		_exit(1);
}

static char *record_str(const struct wrec *r, struct failure *f, const char *what)
{
	struct wcur c;
	wcur_init(&c, r);
	char *s = wcur_str(&c);
	if (c.bad) {
		free(s);
		fail(f, EINVAL, "plan", "%s is malformed", what);
		return NULL;
	}
	return s;
}

static int hook_point(const struct wrec *r, int sync, struct failure *f)
{
	struct wcur c;
	wcur_init(&c, r);
	uint32_t point = wcur_u32(&c);
	if (c.bad)
		return fail(f, EINVAL, "plan", "HOOK_POINT is malformed");
	if (wire_send_u32(sync, BERTH_MSG_HOOK, BERTH_REC_HOOK_POINT, point) < 0)
		_exit(1);
	await_continue(sync);
	return 0;
}

static int early_steps(const struct plan *p, struct failure *f)
{
	size_t pos = 0;
	struct wrec r;
	while (plan_next(p, &pos, &r)) {
		if (r.tag == BERTH_PLAN_UNSHARE) {
			struct wcur c;
			wcur_init(&c, &r);
			uint32_t flags = wcur_u32(&c);
			if (c.bad || unshare((int)flags) < 0)
				return fail(f, c.bad ? EINVAL : errno, "unshare", "unshare 0x%x: %s", flags, strerror(errno));
		}
	}
	if (plan_has(p, BERTH_PLAN_SETSID) && setsid() < 0)
		return fail(f, errno, "setsid", "%s", strerror(errno));
	return 0;
}

/* Mount-like records in plan order, then the root switch and what follows it. */
static int write_sysctl(const struct wrec *r, struct failure *f)
{
	struct wcur c;
	wcur_init(&c, r);
	char *key = wcur_str(&c), *value = wcur_str(&c);
	if (c.bad)
		return fail(f, EINVAL, "plan", "SYSCTL is malformed");
	char path[512];
	int n = snprintf(path, sizeof path, "/proc/sys/%s", key);
	if (n < 0 || (size_t)n >= sizeof path || strstr(key, ".."))
		return fail(f, EINVAL, "sysctl", "bad sysctl name %s", key);
	for (char *s = path + 10; *s; s++)
		if (*s == '.')
			*s = '/';
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);
	if (fd < 0 || write(fd, value, len) != (ssize_t)len)
		return fail(f, errno, "sysctl", "write %s: %s", key, strerror(errno));
	close(fd);
	free(key);
	free(value);
	return 0;
}

static int filesystem_steps(const struct plan *p, int sync, struct failure *f)
{
	struct wrec r;
	if (!wire_find(&p->msg, BERTH_PLAN_ROOTFS, &r))
		return 0;
	char *rootfs = record_str(&r, f, "ROOTFS");
	int rootfd = -1;
	if (!rootfs || prepare_rootfs(p, rootfs, &rootfd, f) < 0)
		return -1;
	size_t pos = 0;
	int rc = 0;
	while (rc == 0 && plan_next(p, &pos, &r)) {
		switch (r.tag) {
		case BERTH_PLAN_MOUNT: rc = do_mount(rootfd, &r, f); break;
		case BERTH_PLAN_MKNOD: rc = do_mknod(rootfd, &r, f); break;
		case BERTH_PLAN_BIND_DEVICE: rc = do_bind_device(rootfd, &r, f); break;
		case BERTH_PLAN_SYMLINK: rc = do_symlink(rootfd, &r, f); break;
		case BERTH_PLAN_HOOK_POINT: rc = hook_point(&r, sync, f); break;
		}
	}
	close(rootfd);
	if (rc < 0)
		return -1;
	uint32_t mode = BERTH_ROOT_PIVOT_ROOT;
	if (wire_find(&p->msg, BERTH_PLAN_ROOT_SWITCH, &r)) {
		struct wcur c;
		wcur_init(&c, &r);
		mode = wcur_u32(&c);
		if (switch_root(rootfs, mode, f) < 0 || root_propagation(p, f) < 0)
			return -1;
	}
	free(rootfs);
	pos = 0;
	/* in plan order: the planner puts sysctls (written through /proc/sys)
	 * before the read-only paths that may include /proc/sys */
	while (rc == 0 && plan_next(p, &pos, &r)) {
		if (r.tag == BERTH_PLAN_SYSCTL)
			rc = write_sysctl(&r, f);
		else if (r.tag == BERTH_PLAN_MASK)
			rc = do_mask(&r, f);
		else if (r.tag == BERTH_PLAN_READONLY)
			rc = do_readonly(&r, f);
	}
	if (rc == 0 && plan_has(p, BERTH_PLAN_ROOT_READONLY))
		rc = root_readonly(f);
	return rc;
}


static int identity_steps(const struct plan *p, int sync, struct failure *f)
{
	struct wrec r;
	if (wire_find(&p->msg, BERTH_PLAN_HOSTNAME, &r)) {
		char *name = record_str(&r, f, "HOSTNAME");
		if (!name || sethostname(name, strlen(name)) < 0)
			return name ? fail(f, errno, "sethostname", "%s: %s", name, strerror(errno)) : -1;
		free(name);
	}
	if (wire_find(&p->msg, BERTH_PLAN_DOMAINNAME, &r)) {
		char *name = record_str(&r, f, "DOMAINNAME");
		if (!name || setdomainname(name, strlen(name)) < 0)
			return name ? fail(f, errno, "setdomainname", "%s: %s", name, strerror(errno)) : -1;
		free(name);
	}
	if (wire_find(&p->msg, BERTH_PLAN_TERMINAL, &r) && setup_terminal(&r, sync, p->kind == BERTH_KIND_INIT, f) < 0)
		return -1;
	return 0;
}

/* Init only: wait until `start` opens the fifo for reading, then tell it we go. */
static void release_by_fifo(int fifo)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fifo);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		fprintf(stderr, "berth-runtime: open exec fifo: %s\n", strerror(errno));
		_exit(1);
	}
	/* fd stays open, close-on-exec: `start` waits for its EOF, which comes
	 * when the user's process has been exec'd (or the init died), and only
	 * then runs the poststart hooks, as the runtime-spec orders. */
	close(fifo);
}

pid_t container_host_pid;

/* Our pid as the host sees it: before the container's /proc is mounted,
 * /proc is still the host's, and "self" resolves in its pid namespace. */
static void remember_host_pid(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
	if (n > 0) {
		buf[n] = 0;
		container_host_pid = (pid_t)atoi(buf);
	}
}

static void do_exec(const struct exec_target *t)
{
	execve(t->path, t->argv, t->envp);
}

void container_main(const struct plan *p, int sync, pid_t front, int fifo)
{
	struct failure f = { 0 };
	/* until ready: die with the front, and keep other processes out of /proc/<pid> */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* getppid() is 0 across a new pid namespace; a front that died before
	 * the line above is seen as EOF on the sync socket instead */
	(void)front;
	prctl(PR_SET_DUMPABLE, 0);
	remember_self_exe();
	remember_host_pid();
	await_continue(sync);
	if ((p->ns_new & CLONE_NEWUSER) || p->joins_user) {
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			fail(&f, errno, "become root in the user namespace", "%s", strerror(errno)), die(sync, &f);
	}
	struct exec_target t = { 0 };
	if (early_steps(p, &f) < 0 || filesystem_steps(p, sync, &f) < 0 ||
	    identity_steps(p, sync, &f) < 0 || process_setup(p, sync, &t, &f) < 0)
		die(sync, &f);
	prctl(PR_SET_PDEATHSIG, 0);
	if (p->kind == BERTH_KIND_EXEC) {
		/* the sync socket is close-on-exec: EOF tells the front the exec happened */
		if (seccomp_load(p, 1, sync, &f) < 0 || sandbox_load(p, 1, &f) < 0)
			die(sync, &f);
		do_exec(&t);
		fail(&f, errno, "exec", "exec %s: %s", t.path, strerror(errno));
		die(sync, &f);
	}
	if (wire_send_empty(sync, BERTH_MSG_READY) < 0)
		_exit(1);
	close(sync);
	if (fifo >= 0)
		release_by_fifo(fifo);
	if (start_hooks(p, &f) < 0) {
		fprintf(stderr, "berth-runtime: %s: %s\n", f.step, f.msg);
		_exit(1);
	}
	if (seccomp_load(p, 1, -1, &f) < 0 || sandbox_load(p, 1, &f) < 0) {
		fprintf(stderr, "berth-runtime: %s: %s\n", f.step, f.msg);
		_exit(1);
	}
	do_exec(&t);
	int err = errno;
	fprintf(stderr, "berth-runtime: exec %s: %s\n", t.path, strerror(err));
	_exit(err == EACCES || err == ENOEXEC ? 126 : 127);
}
