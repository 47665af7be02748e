/* berth-sandbox, the runtime side: the supervisor is started by the front
 * before the container process exists, so it is ready whenever the
 * process loads its filter — even after the front has exited (an init
 * whose filter is loaded late, after `start`). The only copy of the socket
 * to the supervisor then lives in the container process until it sends
 * the listener; if the process dies first, the supervisor sees EOF and
 * exits, so a failed create leaves no supervisor behind. */
#include "sandbox.h"

#include <berth/wire.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int sandbox_sock = -1;

#define SUPERVISOR_NAME "berth-sandbox-supervisor"
/* the supervisor acknowledges its table within this time, or the create fails */
#define SUPERVISOR_START_MS 10000

/* Empty SANDBOX.supervisor: the supervisor next to our own binary. */
static char *supervisor_path(const char *given)
{
	if (given && *given)
		return strdup(given);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return NULL;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	size_t len = strlen(self) + sizeof "/" SUPERVISOR_NAME;
	char *out = malloc(len);
	if (out)
		snprintf(out, len, "%s/%s", self, SUPERVISOR_NAME);
	return out;
}

/* The table message: the plan's SANDBOX* records, copied as they are. */
static int table_message(const struct plan *p, uint8_t **out, size_t *len)
{
	size_t cap = 6, pos = 0;
	struct wrec r;
	while (plan_next(p, &pos, &r))
		if (r.tag >= BERTH_PLAN_SANDBOX && r.tag <= BERTH_PLAN_SANDBOX_PATH)
			cap += 6 + r.len;
	uint8_t *b = malloc(cap);
	if (!b)
		return -1;
	uint32_t body = (uint32_t)(cap - 4);
	uint16_t type = BERTH_MSG_SANDBOX_TABLE;
	memcpy(b, &body, 4);
	memcpy(b + 4, &type, 2);
	size_t at = 6;
	pos = 0;
	while (plan_next(p, &pos, &r)) {
		if (r.tag < BERTH_PLAN_SANDBOX || r.tag > BERTH_PLAN_SANDBOX_PATH)
			continue;
		memcpy(b + at, &r.tag, 2);
		memcpy(b + at + 2, &r.len, 4);
		memcpy(b + at + 6, r.p, r.len);
		at += 6 + r.len;
	}
	*out = b;
	*len = cap;
	return 0;
}

/* Double fork: the supervisor is nobody's child here, in its own session,
 * with /dev/null as stdio (a caller reading our stderr to EOF must not
 * wait for the container's lifetime). Its socket becomes fd 3. */
static int spawn(const char *path, int sock, struct failure *f)
{
	pid_t pid = fork();
	if (pid < 0)
		return fail(f, errno, "sandbox", "fork the supervisor: %s", strerror(errno));
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(sock, 3) < 0)
			_exit(127);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		syscall(SYS_close_range, 4, ~0U, 0);
		char *argv[] = { (char *)SUPERVISOR_NAME, NULL };
		char *envp[] = { NULL };
		execve(path, argv, envp);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

static int await_ack(int sock, const char *path, struct failure *f)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int r;
	do
		r = poll(&pfd, 1, SUPERVISOR_START_MS);
	while (r < 0 && errno == EINTR);
	char ack = 0;
	if (r <= 0 || recv(sock, &ack, 1, 0) != 1)
		return fail(f, r == 0 ? ETIMEDOUT : EPROTO, "sandbox", "the supervisor %s did not start (its errors are in the audit log)", path);
	return 0;
}

int sandbox_start(const struct plan *p, struct failure *f)
{
	struct wrec r;
	if (!wire_find(&p->msg, BERTH_PLAN_SANDBOX, &r))
		return 0;
	struct wcur c;
	wcur_init(&c, &r);
	char *given = wcur_str(&c);
	if (c.bad) {
		free(given);
		return fail(f, EINVAL, "plan", "SANDBOX is malformed");
	}
	char *path = supervisor_path(given);
	free(given);
	if (!path)
		return fail(f, ENOENT, "sandbox", "cannot find %s next to the runtime", SUPERVISOR_NAME);
	int sv[2] = { -1, -1 };
	uint8_t *table = NULL;
	size_t len = 0;
	int rc = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fail(f, errno, "sandbox", "supervisor socket: %s", strerror(errno));
		goto out;
	}
	if (table_message(p, &table, &len) < 0) {
		fail(f, ENOMEM, "sandbox", "out of memory");
		goto out;
	}
	if (spawn(path, sv[1], f) < 0)
		goto out;
	close(sv[1]);
	sv[1] = -1;
	if (send_with_fd(sv[0], table, len, -1) < 0) {
		fail(f, errno, "sandbox", "hand the policy to the supervisor %s: %s", path, strerror(errno));
		goto out;
	}
	if (await_ack(sv[0], path, f) < 0)
		goto out;
	sandbox_sock = fcntl(sv[0], F_DUPFD_CLOEXEC, 100);
	if (sandbox_sock < 0)
		sandbox_sock = sv[0];
	else
		close(sv[0]);
	sv[0] = -1;
	rc = 0;
out:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	free(table);
	free(path);
	return rc;
}

void sandbox_forget(void)
{
	if (sandbox_sock >= 0)
		close(sandbox_sock);
	sandbox_sock = -1;
}

int sandbox_load(const struct plan *p, int late, struct failure *f)
{
	struct wrec r;
	if (!wire_find(&p->msg, BERTH_PLAN_SANDBOX, &r))
		return 0;
	if (plan_has(p, BERTH_PLAN_NO_NEW_PRIVS) != late)
		return 0;
	struct wcur c;
	wcur_init(&c, &r);
	free(wcur_str(&c));
	free(wcur_str(&c));
	uint32_t n = 0;
	const uint8_t *prog = wcur_bytes(&c, &n);
	if (c.bad || !n || n % sizeof(struct sock_filter) || n / sizeof(struct sock_filter) > 0xffff)
		return fail(f, EINVAL, "plan", "SANDBOX filter is malformed");
	if (sandbox_sock < 0)
		return fail(f, EBADF, "sandbox", "no supervisor to hand the listener to");
	/* copy: the filter must be aligned for the kernel */
	struct sock_filter *filter = malloc(n);
	if (!filter)
		return fail(f, ENOMEM, "sandbox", "out of memory");
	memcpy(filter, prog, n);
	struct sock_fprog fprog = { .len = (unsigned short)(n / sizeof *filter), .filter = filter };
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
	free(filter);
	if (fd < 0)
		return fail(f, errno, "sandbox", "load the notify filter: %s", strerror(errno));
	struct wbuf b;
	wbuf_init(&b, BERTH_MSG_SANDBOX_LISTENER);
	wbuf_rec(&b, BERTH_REC_PID);
	wbuf_u32(&b, (uint32_t)container_host_pid);
	int rc = sync_send(sandbox_sock, &b, (int)fd);
	int err = errno;
	wbuf_free(&b);
	close((int)fd);
	close(sandbox_sock);
	sandbox_sock = -1;
	if (rc < 0)
		return fail(f, err, "sandbox", "hand the listener to the supervisor: %s", strerror(err));
	return 0;
}
