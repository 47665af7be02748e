/* The socket protocol (src/shim/protocol.ts): one request and one reply per
 * connection; a WAIT stays parked until its process exits, an ATTACH carries
 * the process's streams until it exits or the client leaves. */
#include "internal.h"
#include "../executor/wire.h"
#include <berth/shim.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* How long waiters wait for an exited process's output to reach its
 * attachers, as dockerd waits for its streams: an attacher stuck for longer
 * does not hold the exit back (it still gets the rest, then EXIT). */
#define EXIT_WAIT_NS (2ull * 1000000000ull)

/* Sends the reply; the connection closes once it is out. */
static void reply(struct shim *sh, struct conn *c, struct wbuf *b)
{
	conn_send(sh, c, b);
	wbuf_free(b);
	if (c->kind != EV_CONN)
		return;
	c->closing = 1;
	c->state = C_WAIT; /* nothing more is read from it */
	c->p = NULL;
	if (c->outlen == 0)
		conn_close(sh, c);
}

static void reply_empty(struct shim *sh, struct conn *c, uint16_t type)
{
	struct wbuf b;
	wbuf_init(&b, type);
	reply(sh, c, &b);
}

static void reply_error(struct shim *sh, struct conn *c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void reply_error(struct shim *sh, struct conn *c, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct wbuf b;
	wbuf_init(&b, SHIM_REP_ERROR);
	wbuf_rec(&b, SHIM_REC_MESSAGE);
	wbuf_str(&b, msg);
	reply(sh, c, &b);
}

static void wbuf_u64(struct wbuf *b, uint64_t v)
{
	wbuf_u32(b, (uint32_t)v);
	wbuf_u32(b, (uint32_t)(v >> 32));
}

static void reply_exit(struct shim *sh, struct conn *c, struct proc *p)
{
	struct wbuf b;
	wbuf_init(&b, SHIM_REP_EXIT);
	wbuf_rec(&b, SHIM_REC_EXIT_STATUS);
	wbuf_u32(&b, (uint32_t)p->code);
	wbuf_rec(&b, SHIM_REC_EXIT_TIME);
	wbuf_u64(&b, p->exit_ns);
	reply(sh, c, &b);
}

/* Whether the cgroup of pid is frozen: the v1 freezer's freezer.state, or
 * cgroup.events of the unified hierarchy. Read here rather than asked of the
 * runtime: a STATE must not fork. */
static int frozen(pid_t pid)
{
	char path[64], line[4096], file[4600];
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int found = 0, v1 = 0;
	char rel[4096];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		if (!b)
			continue;
		*b = 0;
		const char *ctrls = a + 1;
		if (strstr(ctrls, "freezer") && (strcmp(ctrls, "freezer") == 0 || strstr(ctrls, ",freezer") || strstr(ctrls, "freezer,"))) {
			snprintf(rel, sizeof rel, "%s", b + 1);
			found = v1 = 1;
			break;
		}
		if (*ctrls == 0 && strcmp(line, "0") == 0) {
			snprintf(rel, sizeof rel, "%s", b + 1);
			found = 1;
		}
	}
	fclose(f);
	if (!found)
		return 0;
	char buf[256] = { 0 };
	int fd = -1;
	if (v1) {
		snprintf(file, sizeof file, "/sys/fs/cgroup/freezer%s/freezer.state", rel);
		fd = open(file, O_RDONLY | O_CLOEXEC);
	} else {
		snprintf(file, sizeof file, "/sys/fs/cgroup/unified%s/cgroup.events", rel);
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
			snprintf(file, sizeof file, "/sys/fs/cgroup%s/cgroup.events", rel);
			fd = open(file, O_RDONLY | O_CLOEXEC);
		}
	}
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	return v1 ? strncmp(buf, "FROZEN", 6) == 0 || strncmp(buf, "FREEZING", 8) == 0 : strstr(buf, "frozen 1") != NULL;
}

static void reply_state(struct shim *sh, struct conn *c, struct proc *p, const char *status)
{
	if (strcmp(status, "running") == 0 && !p->exited && p->pid > 0 && frozen(p->pid))
		status = "paused";
	struct jlog *l = &sh->init->log;
	struct wbuf b;
	wbuf_init(&b, SHIM_REP_STATE);
	wbuf_rec(&b, SHIM_REC_PID);
	wbuf_u32(&b, (uint32_t)p->pid);
	wbuf_rec(&b, SHIM_REC_STATUS);
	wbuf_str(&b, status);
	wbuf_rec(&b, SHIM_REC_EXIT_STATUS);
	wbuf_u32(&b, p->exited ? (uint32_t)p->code : 0);
	wbuf_rec(&b, SHIM_REC_EXIT_TIME);
	wbuf_u64(&b, p->exited ? p->exit_ns : 0);
	wbuf_rec(&b, SHIM_REC_LOG_ERRORS);
	wbuf_u32(&b, l->errors);
	if (l->last_errno) {
		char msg[4400], e[128];
		snprintf(e, sizeof e, "%s", strerror(l->last_errno));
		e[0] = (char)(e[0] >= 'A' && e[0] <= 'Z' ? e[0] - 'A' + 'a' : e[0]);
		snprintf(msg, sizeof msg, "cannot write log %s: %s", sh->o.log, e);
		wbuf_rec(&b, SHIM_REC_LOG_ERROR);
		wbuf_str(&b, msg);
	}
	jlog_pos(&p->log, &b);
	reply(sh, c, &b);
}

struct proc *proc_find(struct shim *sh, const char *id)
{
	for (struct proc *p = sh->procs; p; p = p->next)
		if (strcmp(p->id, id ? id : "") == 0)
			return p;
	return NULL;
}

/* temp + fsync + rename + fsync of the directory: the record survives a crash */
int write_exit_record(struct shim *sh, struct proc *p)
{
	char path[4096], tmp[4200], t[48], body[256];
	format_time(p->exit_ns, t, sizeof t);
	int n = snprintf(body, sizeof body, "{\"status\":%d,\"time\":\"%s\",\"ns\":\"%llu\"}\n", p->code, t,
			 (unsigned long long)p->exit_ns);
	snprintf(path, sizeof path, "%s/exit.json", sh->o.state_dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int ok = write(fd, body, (size_t)n) == n && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0)
		return -1;
	int dfd = open(sh->o.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

void proc_exited(struct shim *sh, struct proc *p, int wstatus)
{
	p->exited = 1;
	p->exit_ns = now_ns();
	p->code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	if (p == sh->init) {
		/* the exit is on disk before anything else can happen */
		if (write_exit_record(sh, p) < 0)
			shim_log("cannot write the exit record: %s", strerror(errno));
		/* a DELETE may have killed it: "deleted" stays, so SHUTDOWN is allowed */
		if (strcmp(sh->status, "deleted") != 0)
			sh->status = "stopped";
	}
	/* what the process wrote before exiting is in the pipes now: log it before
	 * answering. A stream paused for a slow attacher is read as it catches up;
	 * waiters are answered then, or after EXIT_WAIT at the latest. */
	if (p->out.fd >= 0)
		stream_pump(sh, &p->out);
	if (p->err.fd >= 0)
		stream_pump(sh, &p->err);
	p->exit_pending = 1;
	p->waiters_pending = 1;
	p->exit_deadline = now_ns() + EXIT_WAIT_NS;
	exit_ready(sh, p);
}

static void answer_waiters(struct shim *sh, struct proc *p)
{
	p->waiters_pending = 0;
	for (struct conn *c = sh->conns, *nx; c; c = nx) {
		nx = c->next;
		if (c->state == C_WAIT && c->p == p && !c->closing)
			reply_exit(sh, c, p);
	}
}

/* Whether a stream has bytes to read now (a pipe or a pty master). */
static int readable(const struct stream *s)
{
	int n = 0;
	return s->fd >= 0 && ioctl(s->fd, FIONREAD, &n) == 0 && n > 0;
}

/* Whether an attacher of p still has output of it queued. */
static int attachers_behind(struct shim *sh, struct proc *p)
{
	for (struct conn *c = sh->conns; c; c = c->next)
		if (c->state == C_ATTACH && c->p == p && attach_queued(c) > 0)
			return 1;
	return 0;
}

void exit_ready(struct shim *sh, struct proc *p)
{
	/* called back from inside a read's hand-out (a flush that resumes): that
	 * read's own pump calls again once it is done */
	if (sh->pumping)
		return;
	if (p->exit_pending) {
		/* what is still in a pipe comes first: its own poll event brings it back here */
		if (p->out.paused || p->err.paused || readable(&p->out) || readable(&p->err))
			return;
		p->exit_pending = 0;
		attach_exit(sh, p);
	}
	/* as dockerd does, the exit is told once attachers have the output: a
	 * core that then deletes the container cuts nobody's output short */
	if (p->waiters_pending && !p->exit_pending && !attachers_behind(sh, p))
		answer_waiters(sh, p);
}

int exit_sweep(struct shim *sh)
{
	uint64_t now = now_ns(), next = 0;
	for (struct proc *p = sh->procs; p; p = p->next) {
		if (!p->waiters_pending)
			continue;
		if (p->exit_deadline <= now) {
			/* an attacher that stopped reading does not hide the exit from the core */
			answer_waiters(sh, p);
			continue;
		}
		if (!next || p->exit_deadline < next)
			next = p->exit_deadline;
	}
	return next ? (int)((next - now) / 1000000ull) + 1 : -1;
}

static int valid_exec_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(id[i] == '-' || id[i] == '_' || id[i] == '.' || (id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')))
			return 0;
	return id[0] != '.';
}

static char *str_rec(const struct wmsg *m, uint16_t tag)
{
	struct wrec r;
	if (!wire_find(m, tag, &r))
		return NULL;
	struct wcur c;
	wcur_init(&c, &r);
	char *s = wcur_str(&c);
	if (c.bad) {
		free(s);
		return NULL;
	}
	return s;
}

static uint32_t u32_rec(const struct wmsg *m, uint16_t tag, uint32_t dflt)
{
	struct wrec r;
	if (!wire_find(m, tag, &r))
		return dflt;
	struct wcur c;
	wcur_init(&c, &r);
	uint32_t v = wcur_u32(&c);
	return c.bad ? dflt : v;
}

static int read_pid(const char *path)
{
	char buf[32] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

static int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t n = strlen(data);
	int ok = write(fd, data, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -1;
}

static void do_exec(struct shim *sh, struct conn *c, const struct wmsg *m)
{
	char *id = str_rec(m, SHIM_REC_EXEC_ID), *process = str_rec(m, SHIM_REC_PROCESS);
	char *in_path = str_rec(m, SHIM_REC_STDIN), *log_path = str_rec(m, SHIM_REC_LOG);
	int terminal = (int)u32_rec(m, SHIM_REC_TERMINAL, 0);
	int open_stdin = (int)u32_rec(m, SHIM_REC_OPEN_STDIN, 0);
	char pfile[4096], pidfile[4096], lpath[4096], console[4096];
	int in = -1, in_w = -1, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct proc *p = NULL;
	if (!id || !valid_exec_id(id)) {
		reply_error(sh, c, "cannot exec in container %s: invalid exec id", sh->o.id);
		goto out;
	}
	if (!process || proc_find(sh, id)) {
		reply_error(sh, c, "cannot exec %s in container %s: %s", id, sh->o.id, process ? "exec id already in use" : "no process given");
		goto out;
	}
	if (strcmp(sh->status, "running") != 0) {
		reply_error(sh, c, "cannot exec %s in container %s: container is %s", id, sh->o.id, sh->status);
		goto out;
	}
	snprintf(pfile, sizeof pfile, "%s/exec-%s.json", sh->o.state_dir, id);
	snprintf(pidfile, sizeof pidfile, "%s/exec-%s.pid", sh->o.state_dir, id);
	/* next to our socket (short), not in the state dir: a unix socket path must fit in sun_path */
	snprintf(console, sizeof console, "%s.x%.12s", sh->o.socket, id);
	if (log_path && *log_path)
		snprintf(lpath, sizeof lpath, "%s", log_path);
	else
		snprintf(lpath, sizeof lpath, "%s/exec-%s.log", sh->o.state_dir, id);
	if (open_stdin && !terminal) {
		int pp[2];
		if (pipe2(pp, O_CLOEXEC) == 0) {
			in = pp[0];
			in_w = pp[1];
		}
	} else {
		in = open(in_path && *in_path ? in_path : "/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (write_file(pfile, process) < 0 || in < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		reply_error(sh, c, "cannot exec %s in container %s: %s", id, sh->o.id, strerror(errno));
		goto out;
	}
	widen_pipe(out[0]);
	widen_pipe(err[0]);
	p = calloc(1, sizeof *p);
	if (!p || !(p->id = strdup(id)) || jlog_open(&p->log, lpath, 0, 1) < 0) {
		reply_error(sh, c, "cannot exec %s in container %s: cannot open log %s: %s", id, sh->o.id, lpath, strerror(errno));
		goto out;
	}
	const char *argv[] = { "exec", "--detach", "--pid-file", pidfile, "--process", pfile,
			       terminal ? "--console-socket" : sh->o.id, terminal ? console : NULL, sh->o.id, NULL };
	if (!terminal)
		argv[7] = NULL;
	struct run r = { .in = in, .out = out[1], .err = err[1], .err_read = err[0], .console = terminal ? console : NULL };
	int rc = run_runtime(sh, argv, &r);
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	if (rc < 0) {
		reply_error(sh, c, "cannot exec %s in container %s: %s", id, sh->o.id, r.msg);
		jlog_close(&p->log);
		goto out;
	}
	p->pid = read_pid(pidfile);
	p->master = -1;
	stream_init(&p->err, err[0], "stderr", p, &p->log);
	if (terminal) {
		p->master = 1;
		stream_init(&p->out, r.master, "stdout", p, &p->log);
		close(out[0]);
		/* input to a terminal goes to the master; a dup gets its own epoll entry */
		sink_init(&p->in, fcntl(r.master, F_DUPFD_CLOEXEC, 3));
	} else {
		stream_init(&p->out, out[0], "stdout", p, &p->log);
		sink_init(&p->in, in_w);
		in_w = -1;
	}
	out[0] = err[0] = -1;
	fcntl(p->out.fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err.fd, F_SETFL, O_NONBLOCK);
	if (p->in.fd >= 0)
		fcntl(p->in.fd, F_SETFL, O_NONBLOCK);
	stream_watch(sh, &p->out);
	stream_watch(sh, &p->err);
	p->next = sh->procs;
	sh->procs = p;
	reply_state(sh, c, p, "running");
	p = NULL;
out:
	if (p) {
		free(p->id);
		free(p);
	}
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	if (in >= 0)
		close(in);
	if (in_w >= 0)
		close(in_w);
	free(id);
	free(process);
	free(in_path);
	free(log_path);
}

/*
 * After a start whose runtime call failed: whether it happened all the
 * same. The call can be cut off after it let the container's process go
 * (berth-runtime's fast path runs in the core, and a core killed then ends
 * the call), and a container whose process runs is started, whatever the
 * call said; so the runtime's own state decides. Left "created", the task
 * would be taken for one never started and deleted, its running process
 * killed, and started again from the beginning.
 */
static int started_anyway(struct shim *sh)
{
	const char *argv[] = { "state", sh->o.id, NULL };
	char out[4096];
	if (run_simple(sh, argv, out, sizeof out) < 0)
		return 0;
	const char *s = strstr(out, "\"status\"");
	if (!s)
		return 0;
	s = strchr(s + 8, '"');
	return s && (!strncmp(s, "\"running\"", 9) || !strncmp(s, "\"paused\"", 8));
}

static void do_simple(struct shim *sh, struct conn *c, const char *what, const char *const *argv)
{
	char msg[1024];
	if (run_simple(sh, argv, msg, sizeof msg) < 0)
		reply_error(sh, c, "cannot %s container %s: %s", what, sh->o.id, msg);
	else
		reply_empty(sh, c, SHIM_REP_OK);
}

/*
 * DELETE's runtime call. Once the init has exited, --force also clears a
 * state directory that an earlier delete, killed half-way, left behind; and
 * a container the runtime no longer knows was deleted by such an earlier
 * call, so that is success: DELETE stays idempotent however often it is
 * cut short. A runtime killed by a signal is run again (a few times), so a
 * stray kill of that one process does not fail the user's removal.
 * Returns 1 when the container is gone (the caller replies).
 */
static int delete_container(struct shim *sh, struct conn *c)
{
	int init_done = !sh->init || sh->init->exited;
	const char *forced[] = { "delete", "--force", sh->o.id, NULL };
	const char *plain[] = { "delete", sh->o.id, NULL };
	char msg[1024];
	int rc = RUN_KILLED;
	for (int tries = 0; rc == RUN_KILLED && tries < 3; tries++)
		rc = run_simple(sh, init_done ? forced : plain, msg, sizeof msg);
	if (rc == 0 || (init_done && strstr(msg, "does not exist")))
		return 1;
	reply_error(sh, c, "cannot delete container %s: %s", sh->o.id, msg);
	return 0;
}

/* ATTACH: the connection stays, carrying the process's streams (attach.c). */
static void do_attach(struct shim *sh, struct conn *c, struct proc *p, const char *id, const struct wmsg *m)
{
	const char *name = id && *id ? id : sh->o.id;
	struct wrec r;
	uint32_t in = 0, out = 1, err = 1;
	if (wire_find(m, SHIM_REC_STREAMS, &r)) {
		struct wcur cur;
		wcur_init(&cur, &r);
		in = wcur_u32(&cur);
		out = wcur_u32(&cur);
		err = wcur_u32(&cur);
	}
	if (!p) {
		reply_error(sh, c, "cannot attach to exec %s in container %s: no such exec", id, sh->o.id);
		return;
	}
	if (in && p->in.fd < 0 && !p->exited) {
		reply_error(sh, c, "cannot attach to the stdin of %s: it has no open stdin", name);
		return;
	}
	uint32_t framing = u32_rec(m, SHIM_REC_OUTPUT_FD, 0);
	if (wire_find(m, SHIM_REC_OUTPUT_FD, &r) && ((framing != OUTPUT_STDCOPY && framing != OUTPUT_RAW) || c->passed_fd < 0)) {
		reply_error(sh, c, "cannot attach to %s: %s", name,
			    c->passed_fd < 0 ? "no descriptor came with the request for its output" : "unknown output framing");
		return;
	}
	/* the seam (protocol.ts): the log's position and the unfinished lines,
	 * taken between two reads of the output, as the attacher starts */
	struct wbuf b;
	wbuf_init(&b, SHIM_REP_OK);
	jlog_pos(&p->log, &b);
	wbuf_rec(&b, SHIM_REC_PENDING_STDOUT);
	wbuf_bytes(&b, p->out.buf ? p->out.buf : "", p->out.buf ? p->out.len : 0);
	wbuf_rec(&b, SHIM_REC_PENDING_STDERR);
	wbuf_bytes(&b, p->err.buf ? p->err.buf : "", p->err.buf ? p->err.len : 0);
	conn_send(sh, c, &b);
	wbuf_free(&b);
	if (c->kind != EV_CONN)
		return;
	c->state = C_ATTACH;
	c->p = p;
	c->streams = (in ? ATTACH_STDIN : 0) | (out ? ATTACH_STDOUT : 0) | (err ? ATTACH_STDERR : 0);
	if (framing) {
		/* the output goes to the handed-over descriptor from now on */
		int fd = c->passed_fd;
		c->passed_fd = -1;
		if (conn_adopt_output(sh, c, fd, (int)framing) < 0) {
			close(fd);
			conn_close(sh, c);
			return;
		}
	}
	if (p->exited && !p->exit_pending)
		attach_exit(sh, p);
}

/* DELETE_EXEC: an exited exec is forgotten; its log stays where it is. */
static void do_delete_exec(struct shim *sh, struct conn *c, struct proc *p, const char *id)
{
	if (!id || !*id || !p) {
		reply_error(sh, c, "cannot delete exec %s in container %s: no such exec", id ? id : "", sh->o.id);
		return;
	}
	if (!p->exited) {
		reply_error(sh, c, "cannot delete exec %s in container %s: exec is running", id, sh->o.id);
		return;
	}
	for (struct proc **pp = &sh->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	for (struct conn *k = sh->conns, *nx; k; k = nx) {
		nx = k->next;
		if (k->p == p)
			conn_close(sh, k);
	}
	stream_close(sh, &p->out);
	stream_close(sh, &p->err);
	sink_close(sh, &p->in);
	jlog_close(&p->log);
	char path[4200];
	snprintf(path, sizeof path, "%s/exec-%s.json", sh->o.state_dir, p->id);
	unlink(path);
	snprintf(path, sizeof path, "%s/exec-%s.pid", sh->o.state_dir, p->id);
	unlink(path);
	free(p->id);
	p->id = NULL;
	/* its streams may still be named in this batch of events */
	p->out.kind = p->err.kind = p->in.kind = EV_DEAD;
	later_free(sh, p);
	reply_empty(sh, c, SHIM_REP_OK);
}

void serve_request(struct shim *sh, struct conn *c, const struct wmsg *m)
{
	char *id = str_rec(m, SHIM_REC_EXEC_ID);
	struct proc *p = proc_find(sh, id);
	if (strcmp(sh->status, "deleted") == 0 && m->type != SHIM_REQ_SHUTDOWN && m->type != SHIM_REQ_STATE) {
		reply_error(sh, c, "container %s is deleted", sh->o.id);
		goto out;
	}
	switch (m->type) {
	case SHIM_REQ_STATE:
		reply_state(sh, c, sh->init, sh->status);
		break;
	case SHIM_REQ_START: {
		const char *argv[] = { "start", sh->o.id, NULL };
		char msg[1024];
		if (strcmp(sh->status, "created") != 0)
			reply_error(sh, c, "cannot start container %s: container is %s", sh->o.id, sh->status);
		else if (run_simple(sh, argv, msg, sizeof msg) < 0 && !started_anyway(sh))
			reply_error(sh, c, "cannot start container %s: %s", sh->o.id, msg);
		else {
			if (!sh->init->exited)
				sh->status = "running";
			reply_empty(sh, c, SHIM_REP_OK);
		}
		break;
	}
	case SHIM_REQ_KILL: {
		char sig[16];
		snprintf(sig, sizeof sig, "%u", u32_rec(m, SHIM_REC_SIGNAL, SIGTERM));
		int all = (int)u32_rec(m, SHIM_REC_ALL, 0);
		const char *argv[] = { "kill", all ? "--all" : sh->o.id, all ? sh->o.id : sig, all ? sig : NULL, NULL };
		do_simple(sh, c, "kill", argv);
		break;
	}
	case SHIM_REQ_EXEC:
		do_exec(sh, c, m);
		break;
	case SHIM_REQ_RESIZE: {
		struct wrec r;
		struct winsize ws = { 0 };
		if (!p || p->master < 0 || p->out.fd < 0 || !wire_find(m, SHIM_REC_SIZE, &r)) {
			reply_error(sh, c, "cannot resize %s: no terminal", id && *id ? id : sh->o.id);
			break;
		}
		struct wcur cur;
		wcur_init(&cur, &r);
		ws.ws_row = (unsigned short)wcur_u32(&cur);
		ws.ws_col = (unsigned short)wcur_u32(&cur);
		if (ioctl(p->out.fd, TIOCSWINSZ, &ws) < 0)
			reply_error(sh, c, "cannot resize %s: %s", id && *id ? id : sh->o.id, strerror(errno));
		else
			reply_empty(sh, c, SHIM_REP_OK);
		break;
	}
	case SHIM_REQ_WAIT:
		if (!p) {
			reply_error(sh, c, "cannot wait for exec %s in container %s: no such exec", id, sh->o.id);
		} else if (p->exited && !p->waiters_pending) {
			reply_exit(sh, c, p);
		} else {
			/* parked; still watched, so a client that leaves is dropped at once */
			c->state = C_WAIT;
			c->p = p;
		}
		break;
	case SHIM_REQ_CLOSE_STDIN:
		if (!p) {
			reply_error(sh, c, "cannot close stdin of exec %s in container %s: no such exec", id, sh->o.id);
			break;
		}
		/* what attachers sent before goes in first; then the process sees EOF */
		p->in.close_after = 1;
		if (p->in.len == 0)
			sink_close(sh, &p->in);
		reply_empty(sh, c, SHIM_REP_OK);
		break;
	case SHIM_REQ_ATTACH:
		do_attach(sh, c, p, id, m);
		break;
	case SHIM_REQ_DELETE_EXEC:
		do_delete_exec(sh, c, p, id);
		break;
	case SHIM_REQ_DELETE: {
		if (!delete_container(sh, c))
			break;
		sh->status = "deleted";
		rm_tree(sh->o.state_dir);
		if (u32_rec(m, SHIM_REC_EXIT_AFTER, 0) == 1) {
			/* SHUTDOWN folded in: the OK says so, and nothing is left to serve */
			wire_send_u32(c->fd, SHIM_REP_OK, SHIM_REC_EXIT_AFTER, 1);
			close(c->fd);
			unlink(sh->o.socket);
			exit(0);
		}
		reply_empty(sh, c, SHIM_REP_OK);
		break;
	}
	case SHIM_REQ_SHUTDOWN: {
		if (strcmp(sh->status, "deleted") != 0) {
			reply_error(sh, c, "cannot shut down the shim of container %s: the container still exists (delete it first)", sh->o.id);
			break;
		}
		int fd = c->fd;
		wire_send_empty(fd, SHIM_REP_OK);
		close(fd);
		unlink(sh->o.socket);
		exit(0);
	}
	default:
		reply_error(sh, c, "unknown request type %u", m->type);
	}
out:
	free(id);
}
