/* berth-sandbox-supervisor: started by the runtime's front (double fork,
 * stdio on /dev/null, the socket to the container process as fd 3). It
 * reads the policy table, acknowledges, waits for the notify listener and
 * answers notifications until the last process of the filter is gone (the
 * listener then reports POLLHUP). It is not in the container's pid
 * namespace, so no process of the container can signal or trace it. */
#include "supervisor.h"

#include <berth/wire.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../executor/wire.h"

#define SOCK 3
#define TABLE_MAX (1u << 20)

/* The listener and the pid of the process that loaded the filter. */
static int receive_listener(struct sup *s)
{
	uint8_t buf[256];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b };
	ssize_t r;
	do
		r = recvmsg(SOCK, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	int fd = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); r > 0 && cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	if (r <= 0 || fd < 0)
		return -1; /* the process died or exec'd without a filter: nothing to supervise */
	struct wmsg m;
	struct wrec rec;
	if (wire_parse(buf, (size_t)r, &m) == 0) {
		if (m.type == BERTH_MSG_SANDBOX_LISTENER && wire_find(&m, BERTH_REC_PID, &rec)) {
			struct wcur c;
			wcur_init(&c, &rec);
			s->first_pid = (pid_t)wcur_u32(&c);
		}
		wire_free(&m);
	}
	s->listener = fd;
	return 0;
}

/* Linux 6.6 and later: the kernel hands each notification to the supervisor,
 * and the answer back, on the CPU of the thread that waits for it (a switch
 * between two tasks, not a wake-up of another CPU). On an idle VM a halted
 * vCPU took ~45 µs to wake, and an emulated uname cost 49 µs instead of 4.
 * Older kernels refuse it (EINVAL): their wake-ups stay as they are. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
static void sync_wake_up(struct sup *s)
{
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0 && errno != EINVAL)
		audit_error(s, "cannot ask for synchronous wake-ups: %s", strerror(errno));
}

/* uname's node and domain names are the container's: live in its UTS namespace. */
static void join_uts(struct sup *s)
{
	char path[64];
	snprintf(path, sizeof path, "%d/ns/uts", s->first_pid);
	int fd = s->first_pid > 0 ? openat(s->hostproc, path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0 || setns(fd, CLONE_NEWUTS) < 0)
		audit_error(s, "cannot join the UTS namespace of %d: %s", s->first_pid, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void answer(struct sup *s, struct seccomp_notif *n)
{
	struct seccomp_notif_resp resp = { .id = n->id };
	const struct rule *r = NULL;
	struct rule fallback = { .action = s->default_action, .err = s->default_err, .name = (char *)"unknown" };
	if (n->data.arch == s->arch && n->data.nr >= 0 && n->data.nr < TABLE_MAX_NR && s->rules[n->data.nr].action)
		r = &s->rules[n->data.nr];
	else
		r = &fallback;
	int replied = 0;
	switch (r->action) {
	case BERTH_SANDBOX_CONTINUE:
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		break;
	case BERTH_SANDBOX_OPEN:
		replied = handle_open(s, n, &resp);
		break;
	case BERTH_SANDBOX_UNAME:
		replied = handle_uname(s, n, &resp);
		break;
	case BERTH_SANDBOX_SYSINFO:
		replied = handle_sysinfo(s, n, &resp);
		break;
	case BERTH_SANDBOX_GETDENTS:
		replied = handle_getdents(s, n, &resp);
		break;
	default:
		audit_refusal(s, n, r->name ? r->name : "unknown", r->err);
		resp.error = -(int)r->err;
		break;
	}
	if (!replied && ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
		audit_error(s, "answer %s of %u: %s", r->name ? r->name : "a call", n->pid, strerror(errno));
}

static void serve(struct sup *s)
{
	static struct seccomp_notif n;
	for (;;) {
		struct pollfd p = { .fd = s->listener, .events = POLLIN };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (!(p.revents & POLLIN))
			return; /* POLLHUP: every process of the filter is gone */
		memset(&n, 0, sizeof n);
		if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			audit_error(s, "receive a notification: %s", strerror(errno));
			return;
		}
		answer(s, &n);
	}
}

int main(void)
{
	static struct sup s;
	static uint8_t table[TABLE_MAX];
	s.audit = s.listener = -1;
	signal(SIGPIPE, SIG_IGN);
	/* the children that wait in a fifo's open (open.c) are reaped by the kernel */
	signal(SIGCHLD, SIG_IGN);
	/* no core dumps or /proc/<pid>/mem of the supervisor for anyone but root */
	prctl(PR_SET_DUMPABLE, 0);
	s.hostproc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	s.hostroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	s.userns = fstatat(s.hostproc, "self/ns/user", &st, 0) == 0 ? (unsigned long)st.st_ino : 0;
	s.pidns = fstatat(s.hostproc, "self/ns/pid", &st, 0) == 0 ? (unsigned long)st.st_ino : 0;
	ssize_t n;
	do
		n = recv(SOCK, table, sizeof table, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || s.hostproc < 0 || s.hostroot < 0 || table_load(&s, table, (size_t)n) < 0) {
		audit_error(&s, "bad start: no policy table, /proc or /");
		return 1;
	}
	if (send(SOCK, "k", 1, MSG_NOSIGNAL) != 1)
		return 1;
	if (receive_listener(&s) < 0)
		return 0;
	close(SOCK);
	sync_wake_up(&s);
	char ns[64];
	snprintf(ns, sizeof ns, "%d/ns/user", s.first_pid);
	s.same_userns = s.first_pid > 0 && fstatat(s.hostproc, ns, &st, 0) == 0 && (unsigned long)st.st_ino == s.userns;
	join_uts(&s);
	serve(&s);
	return 0;
}
