/* berth-runtime's front: sends the invocation to the planner as a REQUEST,
 * then does what the planner says, one message at a time, until EXIT. */
#include "front.h"
#include "../sandbox/sandbox.h"

#include <berth/wire.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct front {
	int planner;
	struct plan plan;
	int has_plan;
	struct child child;
};

static int passed_env(const char *e)
{
	static const char *const names[] = { "NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=", "XDG_RUNTIME_DIR=", NULL };
	if (!strncmp(e, "BERTH_", 6))
		return 1;
	for (int i = 0; names[i]; i++)
		if (!strncmp(e, names[i], strlen(names[i])))
			return 1;
	return 0;
}

static int send_request(int fd, int argc, char **argv)
{
	struct wbuf b;
	char cwd[PATH_MAX];
	wbuf_init(&b, BERTH_MSG_REQUEST);
	for (int i = 0; i < argc; i++) {
		wbuf_rec(&b, BERTH_REC_ARG);
		wbuf_str(&b, argv[i]);
	}
	wbuf_rec(&b, BERTH_REC_CWD);
	wbuf_str(&b, getcwd(cwd, sizeof cwd) ? cwd : "/");
	wbuf_rec(&b, BERTH_REC_STDIN_TTY);
	wbuf_u32(&b, isatty(0) ? 1 : 0);
	wbuf_rec(&b, BERTH_REC_FRONT_PID);
	wbuf_u32(&b, (uint32_t)getpid());
	for (char **e = environ; *e; e++) {
		if (passed_env(*e)) {
			wbuf_rec(&b, BERTH_REC_ENV);
			wbuf_str(&b, *e);
		}
	}
	int r = wbuf_send(&b, fd);
	wbuf_free(&b);
	return r;
}

static void reap(pid_t pid, int *status)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (status)
		*status = st;
}

static void kill_child(struct front *fr)
{
	if (fr->child.pid > 0 && !fr->child.ready) {
		kill(fr->child.pid, SIGKILL);
		reap(fr->child.pid, NULL);
	}
	fr->child.pid = 0;
}

static void __attribute__((noreturn)) lost_planner(struct front *fr)
{
	kill_child(fr);
	fprintf(stderr, "berth-runtime: lost the planner\n");
	exit(1);
}

static void send_or_die(struct front *fr, struct wbuf *b)
{
	int r = wbuf_send(b, fr->planner);
	wbuf_free(b);
	if (r < 0)
		lost_planner(fr);
}

static void send_failed(struct front *fr, const struct failure *f)
{
	struct wbuf b;
	wbuf_failed(&b, f);
	send_or_die(fr, &b);
}

static void close_sync(struct child *c)
{
	if (c->sync >= 0)
		close(c->sync);
	c->sync = -1;
}

/* The child failed or vanished during set-up: reap it and report. */
static void child_failed(struct front *fr, struct failure *f)
{
	close_sync(&fr->child);
	if (fr->child.master >= 0)
		close(fr->child.master);
	fr->child.master = -1;
	kill(fr->child.pid, SIGKILL);
	reap(fr->child.pid, NULL);
	fr->child.pid = 0;
	send_failed(fr, f);
}

static char *data_of(const struct wmsg *m, uint16_t tag)
{
	struct wrec r;
	struct wcur c;
	if (!wire_find(m, tag, &r))
		return strdup("");
	wcur_init(&c, &r);
	return wcur_str(&c);
}

/* A pty master or seccomp listener arrived from the child during set-up. */
static int take_fd(struct front *fr, const struct wmsg *m, int fd, struct failure *f)
{
	int rc = 0;
	if (m->type == SYNC_MASTER) {
		char *name = data_of(m, BERTH_REC_DATA);
		if (fd < 0)
			rc = fail(f, EPROTO, "terminal", "no pty master from the container");
		else if (fr->plan.console_socket) {
			rc = console_send(fr->plan.console_socket, fd, name ? name : "", f);
			close(fd);
		} else {
			fr->child.master = fd_high(fd);
		}
		free(name);
	} else if (m->type == SYNC_SECCOMP) {
		char *path = data_of(m, BERTH_REC_MESSAGE), *meta = fill_pid(data_of(m, BERTH_REC_DATA), fr->child.pid);
		rc = fd < 0 ? fail(f, EPROTO, "seccomp", "no listener fd from the container")
			    : listener_send(path ? path : "", fd, meta ? meta : "", f);
		if (fd >= 0)
			close(fd);
		free(path);
		free(meta);
	} else if (fd >= 0) {
		close(fd);
	}
	return rc;
}

/* CONTINUE: resume the child and relay where it stops next. */
static void on_continue(struct front *fr)
{
	struct child *c = &fr->child;
	struct failure f = { 0 };
	if (c->pid <= 0 || c->sync < 0 || wire_send_empty(c->sync, BERTH_MSG_CONTINUE) < 0) {
		fail(&f, ESRCH, "continue", "no container process waits");
		child_failed(fr, &f);
		return;
	}
	for (;;) {
		struct wmsg m;
		int fd = -1;
		int r = sync_recv(c->sync, &m, &fd);
		if (r != 0) {
			if (r == 1 && fr->plan.kind == BERTH_KIND_EXEC) {
				/* close-on-exec closed the child's end: the exec happened */
				close_sync(c);
				c->ready = 1;
				struct wbuf b;
				wbuf_init(&b, BERTH_MSG_READY);
				send_or_die(fr, &b);
				return;
			}
			fail(&f, r < 0 ? errno : 0, "set-up", "the container process exited during set-up");
			child_failed(fr, &f);
			return;
		}
		struct wbuf b;
		switch (m.type) {
		case BERTH_MSG_HOOK: {
			struct wrec rec;
			struct wcur cur;
			uint32_t point = 0;
			if (wire_find(&m, BERTH_REC_HOOK_POINT, &rec)) {
				wcur_init(&cur, &rec);
				point = wcur_u32(&cur);
			}
			wire_free(&m);
			wbuf_init(&b, BERTH_MSG_HOOK);
			wbuf_rec(&b, BERTH_REC_HOOK_POINT);
			wbuf_u32(&b, point);
			send_or_die(fr, &b);
			return;
		}
		case BERTH_MSG_READY:
			wire_free(&m);
			close_sync(c);
			c->ready = 1;
			wbuf_init(&b, BERTH_MSG_READY);
			send_or_die(fr, &b);
			return;
		case BERTH_MSG_FAILED:
			sync_read_failed(&m, &f);
			wire_free(&m);
			child_failed(fr, &f);
			return;
		default:
			if (take_fd(fr, &m, fd, &f) < 0) {
				wire_free(&m);
				child_failed(fr, &f);
				return;
			}
			wire_free(&m);
		}
	}
}

static void on_execute(struct front *fr, struct wmsg *m)
{
	struct failure f = { 0 };
	if (fr->has_plan) {
		plan_free(&fr->plan);
		fr->has_plan = 0;
	}
	if (plan_load(&fr->plan, m, &f) < 0) {
		send_failed(fr, &f);
		return;
	}
	fr->has_plan = 1;
	/* berth-sandbox: the supervisor runs before the container process exists */
	if (sandbox_start(&fr->plan, &f) < 0) {
		send_failed(fr, &f);
		return;
	}
	/* From here on signals meant for the container wait in the queue until
	 * WAIT forwards them (a SIGTERM sent between the start and the WAIT
	 * message must not kill the front and orphan the container). The
	 * container process unblocks everything before it execs. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	int started = executor_start(&fr->plan, fr->planner, &fr->child, &f);
	sandbox_forget();
	if (started < 0) {
		send_failed(fr, &f);
		return;
	}
	struct wbuf b;
	wbuf_init(&b, BERTH_MSG_CHILD);
	wbuf_rec(&b, BERTH_REC_PID);
	wbuf_u32(&b, (uint32_t)fr->child.pid);
	send_or_die(fr, &b);
}

static void on_abort(struct front *fr)
{
	struct failure f = { 0 };
	fail(&f, 0, "abort", "set-up aborted by the planner");
	child_failed(fr, &f);
}

static void on_wait(struct front *fr)
{
	int status = 0;
	struct wbuf b;
	if (fr->child.pid <= 0 || wait_child(&fr->child, &status) < 0) {
		struct failure f;
		fail(&f, ECHILD, "wait", "no container process to wait for");
		send_failed(fr, &f);
		return;
	}
	fr->child.pid = 0;
	wbuf_init(&b, BERTH_MSG_EXITED);
	wbuf_rec(&b, BERTH_REC_STATUS);
	wbuf_u32(&b, (uint32_t)status);
	send_or_die(fr, &b);
}

static void on_output(const struct wmsg *m)
{
	struct wrec r;
	struct wcur c;
	uint32_t fd = 1, n = 0;
	if (wire_find(m, BERTH_REC_FD, &r)) {
		wcur_init(&c, &r);
		fd = wcur_u32(&c) == 2 ? 2 : 1;
	}
	if (!wire_find(m, BERTH_REC_DATA, &r))
		return;
	wcur_init(&c, &r);
	const uint8_t *data = wcur_bytes(&c, &n);
	if (data)
		write_full((int)fd, data, n);
}

static void send_stdin(struct front *fr)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			n = 0;
		struct wbuf b;
		wbuf_init(&b, BERTH_MSG_STDIN);
		wbuf_rec(&b, BERTH_REC_DATA);
		wbuf_bytes(&b, buf, (size_t)n);
		send_or_die(fr, &b);
		if (n == 0)
			return;
	}
}

static uint32_t exit_code(const struct wmsg *m)
{
	struct wrec r;
	struct wcur c;
	if (!wire_find(m, BERTH_REC_CODE, &r))
		return 0;
	wcur_init(&c, &r);
	return wcur_u32(&c);
}

/* The conversation with a planner already connected on fd `planner`; never
 * returns (the planner's EXIT decides the exit code). berth-runtime's main
 * connects to the warm daemon; berth-shim's fast path hands it a connection
 * to berth-core, which plans in-process. */
void front_run(int planner, int argc, char **argv)
{
	struct front fr = { 0 };
	fr.child.sync = fr.child.master = -1;
	fr.planner = fd_high(planner);
	if (send_request(fr.planner, argc, argv) < 0)
		lost_planner(&fr);
	for (;;) {
		struct wmsg m;
		if (wire_read(fr.planner, &m) != 0)
			lost_planner(&fr);
		switch (m.type) {
		case BERTH_MSG_OUTPUT: on_output(&m); break;
		case BERTH_MSG_EXIT: exit((int)exit_code(&m));
		case BERTH_MSG_NEED_STDIN: send_stdin(&fr); break;
		case BERTH_MSG_EXECUTE: on_execute(&fr, &m); break;
		case BERTH_MSG_CONTINUE: on_continue(&fr); break;
		case BERTH_MSG_ABORT: on_abort(&fr); break;
		case BERTH_MSG_WAIT: on_wait(&fr); break;
		default:
			fprintf(stderr, "berth-runtime: unexpected message %u from the planner\n", m.type);
			kill_child(&fr);
			exit(1);
		}
		wire_free(&m);
	}
}
