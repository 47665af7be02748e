/* bin/berth: hands the command to a warm zygote, or runs it the old way.
 *
 * The exchange on the zygote's unix socket (see scripts/berth-launcher.cjs):
 *   front -> zygote  three messages of one byte, each carrying one of our
 *                    fds 0, 1, 2 (SCM_RIGHTS), then "<length>\n" and the body:
 *                    cwd, umask (octal), argc, args, envc, env, each ending
 *                    in NUL
 *   zygote -> front  "K<pid>\n" once everything arrived and the command
 *                    starts (no "K": it did not run, the launcher may run it
 *                    instead), then "<exit code>\n" when the command is done.
 *                    Before the code, any number of times: "S" carrying an
 *                    attach connection (SCM_RIGHTS) and "m" (multiplexed) or
 *                    "r" (raw): the front copies it to its stdout/stderr
 *                    (stream.c) and answers "E" at its end, or "B<id>" when
 *                    a frame header named no stream.
 *                    The pid is where signals go: SO_PEERCRED names the
 *                    process that called listen(), and the listening socket
 *                    passes from zygote to successor, so it names a zygote
 *                    long gone (or whatever process has its pid now).
 * EOF after "K" without a code: the zygote died (a signal); like a shell we
 * say 128+n when we forwarded it signal n, else 1. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <berth/fdpass.h>

#include "cli.h"

extern char **environ;

/* How long to wait for "K": a successor zygote still starting under load. */
#define ACK_TIMEOUT_MS 20000

static pid_t zygote_pid;
static volatile sig_atomic_t forwarded; /* the last terminating signal passed on */

/* Connects to the zygote; -1 when none answers or it is not ours. */
static int connect_zygote(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
		close(s);
		return -1;
	}
	/* the directory is ours alone, but the peer's uid is what counts */
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != getuid() || cred.pid <= 0) {
		close(s);
		return -1;
	}
	return s;
}

static int send_all(int s, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(s, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One byte with one fd; a closed stdio fd goes as /dev/null, as Node itself
 * would reopen it at start. */
static int send_fd(int s, int fd)
{
	int null = -1;
	if (fcntl(fd, F_GETFD) < 0)
		fd = null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union fd_cmsg u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	fd_cmsg_put(&mh, &u, fd);
	ssize_t r;
	while ((r = sendmsg(s, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (null >= 0)
		close(null);
	return r == 1 ? 0 : -1;
}

/* Appends s and its NUL to the growing body. */
static int put(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s) + 1;
	if (*len + n > *cap) {
		size_t c = (*cap + n) * 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	return 0;
}

static int send_request(int s, int argc, char **argv)
{
	char cwd[PATH_MAX];
	/* a deleted cwd: let the launcher fail (or not) exactly as before */
	if (!getcwd(cwd, sizeof cwd))
		return -1;
	for (int fd = 0; fd < 3; fd++)
		if (send_fd(s, fd) < 0)
			return -1;
	mode_t mask = umask(0);
	umask(mask);
	char num[32];
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int bad = put(&buf, &len, &cap, cwd);
	snprintf(num, sizeof num, "%o", (unsigned)mask);
	bad |= put(&buf, &len, &cap, num);
	snprintf(num, sizeof num, "%d", argc - 1);
	bad |= put(&buf, &len, &cap, num);
	for (int i = 1; i < argc; i++)
		bad |= put(&buf, &len, &cap, argv[i]);
	int envc = 0;
	while (environ[envc])
		envc++;
	snprintf(num, sizeof num, "%d", envc);
	bad |= put(&buf, &len, &cap, num);
	for (int i = 0; i < envc; i++)
		bad |= put(&buf, &len, &cap, environ[i]);
	snprintf(num, sizeof num, "%zu\n", len);
	if (!bad)
		bad = send_all(s, num, strlen(num)) < 0 || send_all(s, buf, len) < 0;
	free(buf);
	return bad ? -1 : 0;
}

/* Reads one byte, waiting at most timeout_ms (-1: forever); 1, 0 at EOF, -1. */
static int read_byte(int s, char *c, int timeout_ms)
{
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t n = read(s, c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -1 : (int)n;
	}
}

static void forward(int sig)
{
	if (sig != SIGWINCH)
		forwarded = sig;
	kill(zygote_pid, sig);
}

/* ^Z: the zygote stops, and so do we, so the shell sees the job stop. */
static void suspend(int sig)
{
	kill(zygote_pid, SIGTSTP);
	raise(SIGSTOP);
}

static void resume(int sig)
{
	kill(zygote_pid, SIGCONT);
}

static void forward_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2 };
	struct sigaction sa = { .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = forward;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		/* a signal this front was started ignoring (nohup, a shell's
		 * background job) stays ignored: the command never sees it */
		struct sigaction old;
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
	sa.sa_handler = suspend;
	sigaction(SIGTSTP, &sa, NULL);
	sa.sa_handler = resume;
	sigaction(SIGCONT, &sa, NULL);
}

/* What Node restores at exit for its own stdio, we restore for the
 * zygote's: file status flags (it may leave O_NONBLOCK on a shared pipe,
 * or clear O_APPEND with the flags of its own /dev/null) and a terminal's
 * mode (raw after `run -it` when the zygote was killed). */
struct saved_stdio {
	int flags[3];
	int tty[3];
	struct termios tio[3];
};

static void save_stdio(struct saved_stdio *st)
{
	for (int fd = 0; fd < 3; fd++) {
		st->flags[fd] = fcntl(fd, F_GETFL);
		st->tty[fd] = tcgetattr(fd, &st->tio[fd]) == 0;
	}
}

static void restore_stdio(const struct saved_stdio *st)
{
	sigset_t ttou, old;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	/* a background job may still put its terminal back, as Node does */
	sigprocmask(SIG_BLOCK, &ttou, &old);
	for (int fd = 0; fd < 3; fd++) {
		if (st->flags[fd] >= 0 && fcntl(fd, F_GETFL) != st->flags[fd])
			fcntl(fd, F_SETFL, st->flags[fd]);
		struct termios now;
		if (st->tty[fd] && tcgetattr(fd, &now) == 0 && memcmp(&now, &st->tio[fd], sizeof now) != 0)
			tcsetattr(fd, TCSANOW, &st->tio[fd]);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* A decimal number ending in a newline; -1 on EOF, a timeout or anything else. */
static long read_number(int s, int timeout_ms)
{
	char line[24];
	size_t n = 0;
	char c;
	int r;
	while ((r = read_byte(s, &c, timeout_ms)) == 1 && c >= '0' && c <= '9' && n < sizeof line - 1)
		line[n++] = c;
	line[n] = 0;
	return r == 1 && c == '\n' && n > 0 ? atol(line) : -1;
}

/* Like read_byte, forever, also taking a descriptor sent with the byte (*fd, else -1). */
static int read_byte_fd(int s, char *c, int *fd)
{
	union fd_cmsg u;
	struct iovec iov = { .iov_base = c, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	fd_cmsg_room(&mh, &u);
	ssize_t n;
	while ((n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	*fd = n > 0 ? fd_cmsg_get(&mh) : -1;
	return n < 0 ? -1 : (int)n;
}

/* "S": copies the connection that came with it, then says how it ended. */
static void copy_handed_stream(int s, int fd)
{
	char framing = 0;
	int bad = -1;
	if (fd < 0 || read_byte(s, &framing, -1) != 1)
		return;
	if (copy_stream(fd, framing == 'm', &bad) < 0) {
		/* our output is gone (a reader that stopped): end as the docker
		 * CLI does, by SIGPIPE; the container runs on */
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
		_exit(128 + SIGPIPE);
	}
	char reply[2] = { bad < 0 ? 'E' : 'B', (char)(bad < 0 ? 0 : bad) };
	send_all(s, reply, bad < 0 ? 1 : 2);
}

/* The exit code after "K<pid>", streams to copy before it; see the top of the file. */
static int wait_code(int s)
{
	for (;;) {
		char c;
		int fd;
		int r = read_byte_fd(s, &c, &fd);
		if (r == 1 && c == 'S') {
			copy_handed_stream(s, fd);
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (r != 1 || c < '0' || c > '9')
			break;
		long code = c - '0';
		while ((r = read_byte(s, &c, -1)) == 1 && c >= '0' && c <= '9' && code < 1000000)
			code = code * 10 + (c - '0');
		if (r == 1 && c == '\n')
			return (int)(code & 0xff);
		break;
	}
	return forwarded ? 128 + forwarded : 1;
}

int main(int argc, char **argv)
{
	struct place pl;
	place_find(&pl);
	if (!pl.sock[0])
		run_launcher(&pl, argv);
	int s = connect_zygote(pl.sock);
	if (s < 0) {
		start_zygote(&pl);
		run_launcher(&pl, argv);
	}
	char ack = 0;
	long pid = -1;
	if (send_request(s, argc, argv) < 0 || read_byte(s, &ack, ACK_TIMEOUT_MS) != 1 || ack != 'K'
	    || (pid = read_number(s, ACK_TIMEOUT_MS)) <= 0) {
		/* refused (a rebuilt bundle) or gone: the command did not run */
		close(s);
		start_zygote(&pl);
		run_launcher(&pl, argv);
	}
	zygote_pid = (pid_t)pid;
	struct saved_stdio st;
	save_stdio(&st);
	forward_signals();
	int code = wait_code(s);
	restore_stdio(&st);
	return code;
}
