/* WAIT: the front stays the parent of the container process until it exits,
 * as `runc run` does: every catchable signal the front receives goes to the
 * child, and a terminal held by the front is proxied to the caller's stdio
 * (stdin in raw mode, window size changes followed). */
#include "front.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

struct proxy {
	int master;    /* -1 when there is no terminal or it hung up */
	int in_open;   /* still reading our stdin */
	int raw;       /* our stdin was put in raw mode */
	struct termios saved;
};

static void copy_size(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

static void proxy_start(struct proxy *x, int master)
{
	memset(x, 0, sizeof *x);
	x->master = master;
	if (master < 0)
		return;
	x->in_open = 1;
	if (isatty(0) && tcgetattr(0, &x->saved) == 0) {
		struct termios raw = x->saved;
		cfmakeraw(&raw);
		x->raw = tcsetattr(0, TCSANOW, &raw) == 0;
		copy_size(0, master);
	}
}

static void proxy_stop(struct proxy *x)
{
	if (x->raw)
		tcsetattr(0, TCSANOW, &x->saved);
}

/* Copies what the terminal has; on hang-up (EIO) the terminal is done. */
static void pump_master(struct proxy *x, int nonblock)
{
	char buf[8192];
	for (;;) {
		struct pollfd p = { .fd = x->master, .events = POLLIN };
		if (nonblock && poll(&p, 1, 0) != 1)
			return;
		ssize_t n = read(x->master, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(x->master);
			x->master = -1;
			return;
		}
		write_full(1, buf, (size_t)n);
		if (!nonblock)
			return;
	}
}

static void pump_stdin(struct proxy *x)
{
	char buf[8192];
	ssize_t n = read(0, buf, sizeof buf);
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0 || write_full(x->master, buf, (size_t)n) < 0)
		x->in_open = 0;
}

/* A signal: SIGCHLD means "look at the child"; the rest are the child's. */
static int on_signal(int sfd, struct child *c, struct proxy *x, int *status)
{
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof si) != sizeof si)
		return 0;
	if (si.ssi_signo == SIGCHLD)
		return waitpid(c->pid, status, WNOHANG) == c->pid;
	if (si.ssi_signo == SIGWINCH && x->master >= 0) {
		copy_size(0, x->master);
		return 0;
	}
	kill(c->pid, (int)si.ssi_signo);
	return 0;
}

int wait_child(struct child *c, int *status)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	int sfd = fd_high(signalfd(-1, &all, SFD_CLOEXEC));
	struct proxy x;
	proxy_start(&x, c->master);
	c->master = -1;
	int done = waitpid(c->pid, status, WNOHANG) == c->pid;
	while (!done) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = x.master, .events = POLLIN },
			{ .fd = x.master >= 0 && x.in_open ? 0 : -1, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			done = on_signal(sfd, c, &x, status);
		if (x.master >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			pump_master(&x, 0);
		if (x.master >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
			pump_stdin(&x);
	}
	if (x.master >= 0) {
		pump_master(&x, 1);
		if (x.master >= 0)
			close(x.master);
	}
	proxy_stop(&x);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return done ? 0 : -1;
}
