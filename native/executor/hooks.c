/* startContainer hooks: run inside the container after `start` released it
 * and before the user's process is executed, with the state JSON on stdin. */
#include "executor.h"

#include <berth/wire.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int wait_hook(pid_t pid, int32_t timeout, int *status)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	long waited_ms = 0;
	for (;;) {
		pid_t r = waitpid(pid, status, timeout > 0 ? WNOHANG : 0);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0) {
			if (waited_ms >= (long)timeout * 1000) {
				kill(pid, SIGKILL);
				waitpid(pid, status, 0);
				errno = ETIMEDOUT;
				return -1;
			}
			nanosleep(&tick, NULL);
			waited_ms += 10;
		}
	}
}

char *fill_pid(char *text, pid_t pid)
{
	char num[16];
	int n = snprintf(num, sizeof num, "%d", (int)pid);
	for (char *at; text && (at = strstr(text, "@PID@"));) {
		size_t head = (size_t)(at - text), len = strlen(text);
		char *out = malloc(len + (size_t)n + 1);
		if (!out)
			return text;
		memcpy(out, text, head);
		memcpy(out + head, num, (size_t)n);
		strcpy(out + head + (size_t)n, at + 5);
		free(text);
		text = out;
	}
	return text;
}

static int run_hook(const struct wrec *r, struct failure *f)
{
	struct wcur c;
	uint32_t n;
	wcur_init(&c, r);
	char *path = wcur_str(&c);
	char **args = wcur_strs(&c, &n);
	char **env = wcur_strs(&c, &n);
	int32_t timeout = wcur_i32(&c);
	char *state = wcur_str(&c);
	if (c.bad)
		return fail(f, EINVAL, "plan", "START_HOOK is malformed");
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return fail(f, errno, "startContainer hook", "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		return fail(f, errno, "startContainer hook", "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(pfd[0], 0);
		char *none[] = { path, NULL };
		execve(path, args[0] ? args : none, env);
		_exit(127);
	}
	close(pfd[0]);
	state = fill_pid(state, container_host_pid);
	/* a hook that does not read its stdin must not kill us with SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	size_t len = strlen(state), off = 0;
	while (off < len) {
		ssize_t w = write(pfd[1], state + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(pfd[1]);
	signal(SIGPIPE, SIG_DFL);
	int status = 0;
	if (wait_hook(pid, timeout, &status) < 0)
		return fail(f, errno, "startContainer hook", "%s: %s", path, errno == ETIMEDOUT ? "timed out" : strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(f, 0, "startContainer hook", "%s failed (status %d)", path, status);
	return 0;
}

int start_hooks(const struct plan *p, struct failure *f)
{
	size_t pos = 0;
	struct wrec r;
	while (plan_next(p, &pos, &r))
		if (r.tag == BERTH_PLAN_START_HOOK && run_hook(&r, f) < 0)
			return -1;
	return 0;
}
