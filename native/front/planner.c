/* Finding the planner. A warm daemon (one per planner build, found by the
 * script's inode and mtime) answers on /run/berth/planner/<id>.sock; the
 * first front to find none starts it. BERTH_PLANNER=inline, or any failure
 * to start the daemon, runs the planner as a child on a socketpair instead. */
#include "front.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BERTH_NODE_PATH
#define BERTH_NODE_PATH "/usr/bin/node"
#endif
#define PLANNER_DIR "/run/berth/planner"
#define READY_TIMEOUT_MS 10000

static void planner_paths(char *script, size_t n, const char **node)
{
	const char *env = getenv("BERTH_PLANNER_PATH");
	*node = getenv("BERTH_NODE") ? getenv("BERTH_NODE") : BERTH_NODE_PATH;
	if (env && *env) {
		snprintf(script, n, "%s", env);
		return;
	}
	char exe[PATH_MAX];
	if (!realpath("/proc/self/exe", exe))
		strcpy(exe, "/proc/self/exe");
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(script, n, "%s/../dist/berth-runtime-planner.cjs", exe);
}

static void exec_planner(const char *node, const char *script, const char *a, const char *b, const char *c, const char *d)
{
	char *argv[] = { (char *)node, (char *)script, (char *)a, (char *)b, (char *)c, (char *)d, NULL };
	execv(node, argv);
	_exit(127);
}

/* Makes fd the child's fd 3 (inheritable) and closes everything above it. */
static void keep_as_fd3(int fd)
{
	if (fd == 3)
		fcntl(3, F_SETFD, 0);
	else if (dup2(fd, 3) < 0)
		_exit(127);
	syscall(SYS_close_range, 4, ~0U, 0);
}

static int start_inline(const char *node, const char *script)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	sv[0] = fd_high(sv[0]);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		keep_as_fd3(sv[1]);
		exec_planner(node, script, "--inline-fd", "3", NULL, NULL);
	}
	close(sv[1]);
	return sv[0];
}

static int connect_unix(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int err = errno;
		close(s);
		errno = err;
		return -1;
	}
	return fd_high(s);
}

/* Double fork + setsid: the daemon belongs to no caller's session or tree. */
static int start_daemon(const char *node, const char *script, const char *sock)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	p[0] = fd_high(p[0]);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		keep_as_fd3(p[1]);
		int null = open("/dev/null", O_RDWR);
		for (int fd = 0; fd < 3; fd++)
			dup2(null, fd);
		if (null > 3)
			close(null);
		exec_planner(node, script, "--serve", sock, "--ready-fd", "3");
	}
	close(p[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	/* ready when the daemon writes a byte or closes the pipe */
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	int r;
	do
		r = poll(&pfd, 1, READY_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	char c;
	if (r == 1)
		r = read(p[0], &c, 1) >= 0 ? 0 : -1;
	else
		r = -1;
	close(p[0]);
	return r;
}

/* Opens and locks path. The daemon removes its lock file when it exits, so
 * a lock taken on a file that is no longer at path (unlinked meanwhile) is
 * worthless: try again on the new one. nonblock: -1 at once when held. */
static int lock_file(const char *path, int nonblock)
{
	for (int tries = 0; tries < 100; tries++) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) < 0) {
			close(fd);
			return -1;
		}
		struct stat held, now;
		if (fstat(fd, &held) == 0 && stat(path, &now) == 0 && held.st_ino == now.st_ino && held.st_dev == now.st_dev)
			return fd_high(fd);
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

/* Removes the lock files (and sockets) of daemons that are gone: of other
 * planner builds, or killed before they could clean up. A lock that is free
 * and whose socket answers nobody is stale. Runs only when a daemon is
 * started, which is rare. */
static void sweep_stale(const char *own_lock)
{
	DIR *d = opendir(PLANNER_DIR);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".lock") != 0)
			continue;
		char lockpath[512], sock[512];
		snprintf(lockpath, sizeof lockpath, PLANNER_DIR "/%s", e->d_name);
		if (strcmp(lockpath, own_lock) == 0)
			continue;
		snprintf(sock, sizeof sock, PLANNER_DIR "/%.*s.sock", (int)(n - 5), e->d_name);
		int lock = lock_file(lockpath, 1);
		if (lock < 0)
			continue; /* held: a front is starting that daemon */
		int fd = connect_unix(sock);
		if (fd >= 0) {
			close(fd); /* a live daemon of another build: leave it */
		} else if (errno == ENOENT || errno == ECONNREFUSED) {
			unlink(sock);
			unlink(lockpath);
		}
		close(lock);
	}
	closedir(d);
}

static int connect_daemon(const char *node, const char *script)
{
	struct stat st;
	if (stat(script, &st) < 0)
		return -1;
	char sock[256], lockpath[256];
	snprintf(sock, sizeof sock, PLANNER_DIR "/%lx-%lx-%lx.sock", (unsigned long)st.st_ino,
		 (unsigned long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
	int fd = connect_unix(sock);
	if (fd >= 0 || (errno != ENOENT && errno != ECONNREFUSED))
		return fd;
	mkdir("/run/berth", 0711);
	if (mkdir(PLANNER_DIR, 0700) < 0 && errno != EEXIST)
		return -1;
	/* one front starts the daemon; the others wait on the lock, then connect */
	snprintf(lockpath, sizeof lockpath, "%.*s.lock", (int)(strlen(sock) - 5), sock);
	int lock = lock_file(lockpath, 0);
	if (lock < 0)
		return -1;
	fd = connect_unix(sock);
	if (fd < 0) {
		if (errno == ECONNREFUSED)
			unlink(sock); /* a daemon that died left its socket */
		sweep_stale(lockpath);
		if (start_daemon(node, script, sock) == 0)
			fd = connect_unix(sock);
	}
	close(lock);
	return fd;
}

int planner_connect(void)
{
	char script[PATH_MAX + 64];
	const char *node;
	planner_paths(script, sizeof script, &node);
	if (access(script, R_OK) < 0) {
		fprintf(stderr, "berth-runtime: planner %s: %s\n", script, strerror(errno));
		exit(1);
	}
	const char *mode = getenv("BERTH_PLANNER");
	int fd = -1;
	if (!mode || strcmp(mode, "inline") != 0)
		fd = connect_daemon(node, script);
	if (fd < 0)
		fd = start_inline(node, script);
	if (fd < 0) {
		fprintf(stderr, "berth-runtime: cannot start the planner: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}
