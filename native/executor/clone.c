/* Creating the container process. The front forks an intermediate process
 * (A) that joins the plan's existing namespaces and enters a new time
 * namespace, then clones the container process (B) with CLONE_PARENT: B is
 * the front's child, so the front can wait for it and, once the front exits,
 * B is reparented to the caller's subreaper exactly as runc's init is. */
#include "executor.h"

#include <berth/wire.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* CLONE_NEWTIME shares its bit with the exit signal of clone(2), so it can
 * only be entered through unshare(); these are the flags clone() takes. */
#define CLONE_NS_MASK (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

static int join_namespaces(const struct plan *p, struct failure *f)
{
	size_t pos = 0;
	struct wrec r;
	while (plan_next(p, &pos, &r)) {
		if (r.tag != BERTH_PLAN_NS_JOIN)
			continue;
		struct wcur c;
		wcur_init(&c, &r);
		uint32_t type = wcur_u32(&c);
		char *path = wcur_str(&c);
		if (c.bad)
			return fail(f, EINVAL, "plan", "NS_JOIN is malformed");
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, (int)type) < 0)
			return fail(f, errno, "join namespace", "setns %s: %s", path, strerror(errno));
		close(fd);
		free(path);
	}
	return 0;
}

static int enter_time_namespace(const struct plan *p, struct failure *f)
{
	if (!(p->ns_new & CLONE_NEWTIME))
		return 0;
	if (unshare(CLONE_NEWTIME) < 0)
		return fail(f, errno, "unshare time namespace", "%s", strerror(errno));
	struct wrec r;
	if (!wire_find(&p->msg, BERTH_PLAN_TIMENS_OFFSETS, &r))
		return 0;
	struct wcur c;
	wcur_init(&c, &r);
	char *offsets = wcur_str(&c);
	if (c.bad)
		return fail(f, EINVAL, "plan", "TIMENS_OFFSETS is malformed");
	/* the offsets can only be written before any process enters the namespace */
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	size_t n = strlen(offsets);
	if (fd < 0 || write(fd, offsets, n) != (ssize_t)n)
		return fail(f, errno, "write timens_offsets", "%s", strerror(errno));
	close(fd);
	free(offsets);
	return 0;
}

static void intermediate(const struct plan *p, int planner_fd, int sync, pid_t front, int fifo)
{
	struct failure f = { 0 };
	if (planner_fd >= 0)
		close(planner_fd);
	if (join_namespaces(p, &f) < 0 || enter_time_namespace(p, &f) < 0) {
		sync_send_failed(sync, &f);
		_exit(1);
	}
	unsigned long flags = CLONE_PARENT | SIGCHLD | (p->ns_new & CLONE_NS_MASK);
	/* raw clone behaves like fork(): the child continues here on its own copy of the stack */
	long pid = syscall(SYS_clone, flags, 0, NULL, NULL, 0);
	if (pid == 0)
		container_main(p, sync, front, fifo);
	if (pid < 0) {
		fail(&f, errno, "clone", "clone the container process: %s", strerror(errno));
		sync_send_failed(sync, &f);
		_exit(1);
	}
	wire_send_u32(sync, BERTH_MSG_CHILD, BERTH_REC_PID, (uint32_t)pid);
	_exit(0);
}

/* OOM_SCORE_ADJ is written from here, by host root: inside a user
 * namespace the (not yet dumpable) child could not open its own file.
 * The value is inherited by everything the child execs. */
static int set_oom_score(const struct plan *p, pid_t pid, struct failure *f)
{
	struct wrec r;
	if (!wire_find(&p->msg, BERTH_PLAN_OOM_SCORE_ADJ, &r))
		return 0;
	struct wcur c;
	wcur_init(&c, &r);
	int32_t v = wcur_i32(&c);
	if (c.bad)
		return fail(f, EINVAL, "plan", "OOM_SCORE_ADJ is malformed");
	char path[64], buf[16];
	snprintf(path, sizeof path, "/proc/%d/oom_score_adj", pid);
	int n = snprintf(buf, sizeof buf, "%d", v);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return fail(f, err, "oom_score_adj", "write %s: %s", buf, strerror(err));
	}
	close(fd);
	return 0;
}

int executor_start(const struct plan *p, int planner_fd, struct child *c, struct failure *f)
{
	int sv[2];
	memset(c, 0, sizeof *c);
	c->sync = c->master = -1;
	if (sync_pair(sv) < 0)
		return fail(f, errno, "clone", "sync socket: %s", strerror(errno));
	/* out of the way of fds the caller passes for --preserve-fds */
	for (int i = 0; i < 2; i++) {
		int hi = fcntl(sv[i], F_DUPFD_CLOEXEC, 100);
		if (hi >= 0) {
			close(sv[i]);
			sv[i] = hi;
		}
	}
	/* The exec fifo is opened here, by the front, with the caller's
	 * credentials: the container process may be an unprivileged uid in a new
	 * user namespace that cannot even traverse the state directory. */
	int fifo = -1;
	struct wrec fr;
	if (wire_find(&p->msg, BERTH_PLAN_EXEC_FIFO, &fr)) {
		struct wcur fc;
		wcur_init(&fc, &fr);
		char *path = wcur_str(&fc);
		if (fc.bad || !path) {
			close(sv[0]);
			close(sv[1]);
			return fail(f, EINVAL, "plan", "EXEC_FIFO is malformed");
		}
		int lo = open(path, O_PATH | O_CLOEXEC);
		if (lo < 0) {
			int err = errno;
			close(sv[0]);
			close(sv[1]);
			fail(f, err, "open exec fifo", "%s: %s", path, strerror(err));
			free(path);
			return -1;
		}
		free(path);
		fifo = fcntl(lo, F_DUPFD_CLOEXEC, 100);
		close(lo);
		if (fifo < 0) {
			close(sv[0]);
			close(sv[1]);
			return fail(f, errno, "open exec fifo", "dup: %s", strerror(errno));
		}
	}
	if (idmap_prepare(p, f) < 0) {
		idmap_release();
		close(sv[0]);
		close(sv[1]);
		if (fifo >= 0)
			close(fifo);
		return -1;
	}
	pid_t front = getpid();
	pid_t a = fork();
	if (a < 0) {
		close(sv[0]);
		close(sv[1]);
		if (fifo >= 0)
			close(fifo);
		idmap_release();
		return fail(f, errno, "clone", "fork: %s", strerror(errno));
	}
	if (a == 0) {
		close(sv[0]);
		intermediate(p, planner_fd, sv[1], front, fifo);
	}
	close(sv[1]);
	if (fifo >= 0)
		close(fifo);
	idmap_release();
	struct wmsg m;
	int fd = -1;
	int r = sync_recv(sv[0], &m, &fd);
	while (waitpid(a, NULL, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && m.type == BERTH_MSG_CHILD) {
		struct wrec rec;
		struct wcur cur;
		if (wire_find(&m, BERTH_REC_PID, &rec)) {
			wcur_init(&cur, &rec);
			c->pid = (pid_t)wcur_u32(&cur);
		}
		wire_free(&m);
		c->sync = sv[0];
		if (c->pid <= 0)
			return fail(f, EPROTO, "clone", "no pid from the intermediate process");
		if (set_oom_score(p, c->pid, f) < 0) {
			kill(c->pid, SIGKILL);
			while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
				;
			close(c->sync);
			c->sync = -1;
			return -1;
		}
		return 0;
	}
	close(sv[0]);
	if (r == 0 && m.type == BERTH_MSG_FAILED) {
		sync_read_failed(&m, f);
		wire_free(&m);
		return -1;
	}
	if (r == 0)
		wire_free(&m);
	return fail(f, EPROTO, "clone", "the intermediate process died");
}
