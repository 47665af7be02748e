/* The socket protocol (src/shim/protocol.ts): one request and one reply per
 * connection; a WAIT stays parked until its process exits. */
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

static void reply_error(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply_error(int fd, const char *fmt, ...)
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
	wbuf_send(&b, fd);
	wbuf_free(&b);
}

static void wbuf_u64(struct wbuf *b, uint64_t v)
{
	wbuf_u32(b, (uint32_t)v);
	wbuf_u32(b, (uint32_t)(v >> 32));
}

static void reply_exit(int fd, struct proc *p)
{
	struct wbuf b;
	wbuf_init(&b, SHIM_REP_EXIT);
	wbuf_rec(&b, SHIM_REC_EXIT_STATUS);
	wbuf_u32(&b, (uint32_t)p->code);
	wbuf_rec(&b, SHIM_REC_EXIT_TIME);
	wbuf_u64(&b, p->exit_ns);
	wbuf_send(&b, fd);
	wbuf_free(&b);
}

static void reply_state(int fd, struct proc *p, const char *status)
{
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
	wbuf_send(&b, fd);
	wbuf_free(&b);
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
	/* what the process wrote before exiting is in the pipes now: log it before answering */
	if (p->out.fd >= 0)
		stream_pump(sh, &p->out);
	if (p->err.fd >= 0)
		stream_pump(sh, &p->err);
	for (int i = 0; i < p->nwaiters; i++) {
		reply_exit(p->waiters[i], p);
		close(p->waiters[i]);
	}
	p->nwaiters = 0;
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

static void do_exec(struct shim *sh, int fd, const struct wmsg *m)
{
	char *id = str_rec(m, SHIM_REC_EXEC_ID), *process = str_rec(m, SHIM_REC_PROCESS);
	char *in_path = str_rec(m, SHIM_REC_STDIN), *log_path = str_rec(m, SHIM_REC_LOG);
	int terminal = (int)u32_rec(m, SHIM_REC_TERMINAL, 0);
	char pfile[4096], pidfile[4096], lpath[4096], console[4096];
	int in = -1, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct proc *p = NULL;
	if (!id || !valid_exec_id(id)) {
		reply_error(fd, "cannot exec in container %s: invalid exec id", sh->o.id);
		goto out;
	}
	if (!process || proc_find(sh, id)) {
		reply_error(fd, "cannot exec %s in container %s: %s", id, sh->o.id, process ? "exec id already in use" : "no process given");
		goto out;
	}
	if (strcmp(sh->status, "running") != 0) {
		reply_error(fd, "cannot exec %s in container %s: container is %s", id, sh->o.id, sh->status);
		goto out;
	}
	snprintf(pfile, sizeof pfile, "%s/exec-%s.json", sh->o.state_dir, id);
	snprintf(pidfile, sizeof pidfile, "%s/exec-%s.pid", sh->o.state_dir, id);
	snprintf(console, sizeof console, "%s/exec-%s.console", sh->o.state_dir, id);
	if (log_path && *log_path)
		snprintf(lpath, sizeof lpath, "%s", log_path);
	else
		snprintf(lpath, sizeof lpath, "%s/exec-%s.log", sh->o.state_dir, id);
	in = open(in_path && *in_path ? in_path : "/dev/null", O_RDONLY | O_CLOEXEC);
	if (write_file(pfile, process) < 0 || in < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		reply_error(fd, "cannot exec %s in container %s: %s", id, sh->o.id, strerror(errno));
		goto out;
	}
	p = calloc(1, sizeof *p);
	if (!p || !(p->id = strdup(id)) || jlog_open(&p->log, lpath, 0, 1) < 0) {
		reply_error(fd, "cannot exec %s in container %s: cannot open log %s: %s", id, sh->o.id, lpath, strerror(errno));
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
		reply_error(fd, "cannot exec %s in container %s: %s", id, sh->o.id, r.msg);
		jlog_close(&p->log);
		goto out;
	}
	p->pid = read_pid(pidfile);
	p->master = -1;
	p->stdin_fd = -1;
	stream_init(&p->err, err[0], "stderr", &p->log);
	if (terminal) {
		p->master = 1;
		stream_init(&p->out, r.master, "stdout", &p->log);
		close(out[0]);
	} else {
		stream_init(&p->out, out[0], "stdout", &p->log);
	}
	out[0] = err[0] = -1;
	fcntl(p->out.fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err.fd, F_SETFL, O_NONBLOCK);
	stream_watch(sh, &p->out);
	stream_watch(sh, &p->err);
	p->next = sh->procs;
	sh->procs = p;
	reply_state(fd, p, "running");
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
	free(id);
	free(process);
	free(in_path);
	free(log_path);
}

static void do_simple(struct shim *sh, int fd, const char *what, const char *const *argv)
{
	char msg[1024];
	if (run_simple(sh, argv, msg, sizeof msg) < 0)
		reply_error(fd, "cannot %s container %s: %s", what, sh->o.id, msg);
	else
		wire_send_empty(fd, SHIM_REP_OK);
}

/* Returns 1 when the connection was kept (a parked WAIT). */
static int handle(struct shim *sh, int fd, const struct wmsg *m)
{
	char *id = str_rec(m, SHIM_REC_EXEC_ID);
	struct proc *p = proc_find(sh, id);
	int kept = 0;
	if (strcmp(sh->status, "deleted") == 0 && m->type != SHIM_REQ_SHUTDOWN && m->type != SHIM_REQ_STATE) {
		reply_error(fd, "container %s is deleted", sh->o.id);
		goto out;
	}
	switch (m->type) {
	case SHIM_REQ_STATE:
		reply_state(fd, sh->init, sh->status);
		break;
	case SHIM_REQ_START: {
		const char *argv[] = { "start", sh->o.id, NULL };
		char msg[1024];
		if (strcmp(sh->status, "created") != 0)
			reply_error(fd, "cannot start container %s: container is %s", sh->o.id, sh->status);
		else if (run_simple(sh, argv, msg, sizeof msg) < 0)
			reply_error(fd, "cannot start container %s: %s", sh->o.id, msg);
		else {
			if (!sh->init->exited)
				sh->status = "running";
			wire_send_empty(fd, SHIM_REP_OK);
		}
		break;
	}
	case SHIM_REQ_KILL: {
		char sig[16];
		snprintf(sig, sizeof sig, "%u", u32_rec(m, SHIM_REC_SIGNAL, SIGTERM));
		int all = (int)u32_rec(m, SHIM_REC_ALL, 0);
		const char *argv[] = { "kill", all ? "--all" : sh->o.id, all ? sh->o.id : sig, all ? sig : NULL, NULL };
		do_simple(sh, fd, "kill", argv);
		break;
	}
	case SHIM_REQ_EXEC:
		do_exec(sh, fd, m);
		break;
	case SHIM_REQ_RESIZE: {
		struct wrec r;
		struct winsize ws = { 0 };
		if (!p || p->master < 0 || p->out.fd < 0 || !wire_find(m, SHIM_REC_SIZE, &r)) {
			reply_error(fd, "cannot resize %s: no terminal", id && *id ? id : sh->o.id);
			break;
		}
		struct wcur c;
		wcur_init(&c, &r);
		ws.ws_row = (unsigned short)wcur_u32(&c);
		ws.ws_col = (unsigned short)wcur_u32(&c);
		if (ioctl(p->out.fd, TIOCSWINSZ, &ws) < 0)
			reply_error(fd, "cannot resize %s: %s", id && *id ? id : sh->o.id, strerror(errno));
		else
			wire_send_empty(fd, SHIM_REP_OK);
		break;
	}
	case SHIM_REQ_WAIT:
		if (!p) {
			reply_error(fd, "cannot wait for exec %s in container %s: no such exec", id, sh->o.id);
		} else if (p->exited) {
			reply_exit(fd, p);
		} else {
			int *w = realloc(p->waiters, sizeof *w * (size_t)(p->nwaiters + 1));
			if (!w) {
				reply_error(fd, "cannot wait: out of memory");
				break;
			}
			p->waiters = w;
			w[p->nwaiters++] = fd;
			kept = 1;
		}
		break;
	case SHIM_REQ_CLOSE_STDIN:
		if (!p) {
			reply_error(fd, "cannot close stdin of exec %s in container %s: no such exec", id, sh->o.id);
			break;
		}
		if (p->stdin_fd >= 0)
			close(p->stdin_fd);
		p->stdin_fd = -1;
		wire_send_empty(fd, SHIM_REP_OK);
		break;
	case SHIM_REQ_DELETE: {
		const char *argv[] = { "delete", sh->o.id, NULL };
		char msg[1024];
		if (run_simple(sh, argv, msg, sizeof msg) < 0) {
			reply_error(fd, "cannot delete container %s: %s", sh->o.id, msg);
			break;
		}
		sh->status = "deleted";
		rm_tree(sh->o.state_dir);
		wire_send_empty(fd, SHIM_REP_OK);
		break;
	}
	case SHIM_REQ_SHUTDOWN:
		if (strcmp(sh->status, "deleted") != 0) {
			reply_error(fd, "cannot shut down the shim of container %s: the container still exists (delete it first)", sh->o.id);
			break;
		}
		wire_send_empty(fd, SHIM_REP_OK);
		close(fd);
		unlink(sh->o.socket);
		exit(0);
	default:
		reply_error(fd, "unknown request type %u", m->type);
	}
out:
	free(id);
	return kept;
}

void serve_client(struct shim *sh, int fd)
{
	/* a client that connects and says nothing must not hold the shim */
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct wmsg m;
	if (wire_read(fd, &m) != 0) {
		close(fd);
		return;
	}
	int kept = handle(sh, fd, &m);
	wire_free(&m);
	if (!kept)
		close(fd);
}
