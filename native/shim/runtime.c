/* Running the OCI runtime: `<runtime> [args] --root <state>/runtime verb …`,
 * synchronously. Only this process reaps its pid (waitpid on it), so the
 * main loop's waitpid(-1) never steals a runtime's exit: the loop is not
 * running while a runtime runs. */
#include "internal.h"
#include "../front/front.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Connects to berth-core's in-process planner; -1 when it does not answer
 * (a core that is down or moved: the runtime binary is exec'd instead). */
static int connect_planner(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof a.sun_path)
		return -1;
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void child_exec(struct shim *sh, const char *const *argv, struct run *r)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(r->in, 0) < 0 || dup2(r->out, 1) < 0 || dup2(r->err, 2) < 0)
		_exit(127);
	syscall(SYS_close_range, 3, ~0u, 0);
	size_t n = 0;
	while (argv[n])
		n++;
	const char **av = calloc(n + (size_t)sh->o.nruntime_args + 4, sizeof *av);
	if (!av)
		_exit(127);
	size_t k = 0;
	av[k++] = sh->o.runtime;
	for (int i = 0; i < sh->o.nruntime_args; i++)
		av[k++] = sh->o.runtime_args[i];
	av[k++] = "--root";
	av[k++] = sh->runtime_root;
	for (size_t i = 0; i < n; i++)
		av[k++] = argv[i];
	if (sh->o.planner) {
		/* the fast path: the same conversation the runtime's front would
		 * have with its planner, with berth-core, without an exec */
		int planner = connect_planner(sh->o.planner);
		if (planner >= 0)
			front_run(planner, (int)k, (char **)av);
	}
	execv(sh->o.runtime, (char *const *)av);
	dprintf(2, "cannot run runtime %s: %s\n", sh->o.runtime, strerror(errno));
	_exit(127);
}

/* Receives the pty master the runtime sends on the console socket. */
static int recv_master(int conn)
{
	char data[256];
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { data, sizeof data };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	if (recvmsg(conn, &mh, MSG_CMSG_CLOEXEC) < 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

static int console_listen(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (fd < 0)
		return -1;
	if (strlen(path) >= sizeof a.sun_path) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits for pid; with a console socket, accepts the master meanwhile. */
static int wait_runtime(pid_t pid, int lfd, struct run *r)
{
	int status;
	for (;;) {
		if (lfd >= 0 && r->master < 0) {
			struct pollfd p = { lfd, POLLIN, 0 };
			if (poll(&p, 1, 50) > 0) {
				int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (c >= 0) {
					r->master = recv_master(c);
					close(c);
				}
			}
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				break;
			continue;
		}
		if (waitpid(pid, &status, 0) == pid)
			break;
		if (errno != EINTR)
			return -1;
	}
	return status;
}

/* Reads what the runtime left in its stderr pipe, without blocking. */
static size_t drain(int fd, char *buf, size_t n)
{
	size_t got = 0;
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (got + 1 < n) {
		ssize_t k = read(fd, buf + got, n - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	fcntl(fd, F_SETFL, fl);
	buf[got] = 0;
	return got;
}

/* The message of a failed runtime call: its stderr, trimmed, or its status. */
static void failure(char *msg, size_t n, const char *verb, int status)
{
	size_t len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = 0;
	if (len)
		return;
	if (WIFEXITED(status))
		snprintf(msg, n, "runtime %s exited with status %d", verb, WEXITSTATUS(status));
	else
		snprintf(msg, n, "runtime %s was killed by signal %d", verb, WTERMSIG(status));
}

int run_runtime(struct shim *sh, const char *const *argv, struct run *r)
{
	int lfd = -1;
	r->master = -1;
	r->msg[0] = 0;
	if (r->console && (lfd = console_listen(r->console)) < 0) {
		snprintf(r->msg, sizeof r->msg, "cannot listen on console socket %s: %s", r->console, strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(r->msg, sizeof r->msg, "cannot fork the runtime: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		child_exec(sh, argv, r);
	int status = wait_runtime(pid, lfd, r);
	if (lfd >= 0) {
		close(lfd);
		unlink(r->console);
	}
	if (status == 0 && (!r->console || r->master >= 0))
		return 0;
	drain(r->err_read, r->msg, sizeof r->msg);
	if (status == 0)
		snprintf(r->msg, sizeof r->msg, "runtime %s sent no terminal on the console socket", argv[0]);
	failure(r->msg, sizeof r->msg, argv[0], status);
	if (r->master >= 0)
		close(r->master);
	r->master = -1;
	return -1;
}

int run_simple(struct shim *sh, const char *const *argv, char *msg, size_t n)
{
	int p[2];
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (pipe2(p, O_CLOEXEC) < 0 || devnull < 0) {
		snprintf(msg, n, "cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	struct run r = { .in = devnull, .out = p[1], .err = p[1] };
	pid_t pid = fork();
	if (pid == 0)
		child_exec(sh, argv, &r);
	close(p[1]);
	close(devnull);
	/* read to EOF first: the runtime may write more than a pipe holds */
	size_t got = 0;
	char sink[512];
	for (;;) {
		char *dst = got + 1 < n ? msg + got : sink;
		size_t room = got + 1 < n ? n - 1 - got : sizeof sink;
		ssize_t k = read(p[0], dst, room);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (dst == msg + got)
			got += (size_t)k;
	}
	msg[got] = 0;
	close(p[0]);
	int status = -1;
	if (pid < 0) {
		snprintf(msg, n, "cannot fork the runtime: %s", strerror(errno));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (status == 0)
		return 0;
	failure(msg, n, argv[0], status);
	return WIFSIGNALED(status) ? RUN_KILLED : -1;
}
