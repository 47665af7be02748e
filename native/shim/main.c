/* berth-shim: one process per container, detached from whoever started it;
 * subreaper and parent of the container's init; owns its stdio, writes the
 * json-file log, records the exit, serves a unix socket. See README.md. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: berth-shim --id ID --bundle DIR --runtime PATH [--runtime-arg A]... --socket PATH\n"
	"                  --state-dir DIR --log PATH [--log-max-size BYTES] [--log-max-file N] [--terminal] [--stdin]\n"
	"                  [--ready-fd N] [--planner SOCKET]\n"
	"Creates the container with the runtime, detaches, and prints its own pid once its socket is up.\n"
	"With --ready-fd, the first process exits at once and the verdict is written to fd N instead:\n"
	"'K', the shim's pid, a space and the init's pid, or 'E' and the reason, then EOF.\n"
	"With --planner (the fast path, for Berth's own runtime), runtime calls are planned by the\n"
	"berth-core listening on SOCKET and carried out in a fork of the shim; without an answer\n"
	"there, the runtime binary is exec'd as usual.\n";

void shim_log(const char *fmt, ...)
{
	char t[48];
	format_time(now_ns(), t, sizeof t);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s berth-shim: ", t);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	remove(p); /* best effort: keep removing the rest */
	return 0;
}

void rm_tree(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static int parse_args(int argc, char **argv, struct opts *o)
{
	o->runtime_args = calloc((size_t)argc, sizeof *o->runtime_args);
	o->log_max_file = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--terminal") == 0) {
			o->terminal = 1;
			continue;
		}
		if (strcmp(a, "--stdin") == 0) {
			o->open_stdin = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			exit(0);
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "berth-shim: option %s needs a value\n%s", a, usage);
			return -1;
		}
		const char *v = argv[++i];
		if (strcmp(a, "--id") == 0) o->id = v;
		else if (strcmp(a, "--bundle") == 0) o->bundle = v;
		else if (strcmp(a, "--runtime") == 0) o->runtime = v;
		else if (strcmp(a, "--runtime-arg") == 0) o->runtime_args[o->nruntime_args++] = v;
		else if (strcmp(a, "--socket") == 0) o->socket = v;
		else if (strcmp(a, "--state-dir") == 0) o->state_dir = v;
		else if (strcmp(a, "--log") == 0) o->log = v;
		else if (strcmp(a, "--log-max-size") == 0) o->log_max_size = atoll(v);
		else if (strcmp(a, "--log-max-file") == 0) o->log_max_file = atoi(v);
		else if (strcmp(a, "--ready-fd") == 0) o->ready_fd = atoi(v);
		else if (strcmp(a, "--planner") == 0) o->planner = v;
		else {
			fprintf(stderr, "berth-shim: unknown option %s\n%s", a, usage);
			return -1;
		}
	}
	if (!o->id || !o->bundle || !o->runtime || !o->socket || !o->state_dir || !o->log) {
		fprintf(stderr, "berth-shim: --id, --bundle, --runtime, --socket, --state-dir and --log are required\n%s", usage);
		return -1;
	}
	return 0;
}

/* Sends the starter 'K' + pid, or 'E' + message, and closes the pipe. */
static void tell(int fd, char what, const char *text)
{
	if (fd < 0)
		return;
	char buf[1400];
	int n = snprintf(buf, sizeof buf, "%c%s", what, text);
	if (write(fd, buf, (size_t)n) < 0) {
		/* the starter is gone: nothing to tell */
	}
	close(fd);
}

static int listen_socket(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof a.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	mode_t old = umask(0077);
	int r = bind(fd, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Everything up to a created container; on failure *msg says why. */
static int setup(struct shim *sh, char *msg, size_t n)
{
	struct opts *o = &sh->o;
	char path[4096];
	if (mkdir(o->state_dir, 0700) < 0 && errno != EEXIST)
		return snprintf(msg, n, "cannot create state directory %s: %s", o->state_dir, strerror(errno)), -1;
	if (asprintf(&sh->runtime_root, "%s/runtime", o->state_dir) < 0 || (mkdir(sh->runtime_root, 0700) < 0 && errno != EEXIST))
		return snprintf(msg, n, "cannot create runtime root in %s: %s", o->state_dir, strerror(errno)), -1;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sh->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	sh->epfd = epoll_create1(EPOLL_CLOEXEC);
	if ((sh->listen_fd = listen_socket(o->socket)) < 0)
		return snprintf(msg, n, "cannot listen on %s: %s", o->socket, strerror(errno)), -1;

	struct proc *p = calloc(1, sizeof *p);
	p->id = strdup("");
	p->master = -1;
	sink_init(&p->in, -1);
	if (jlog_open(&p->log, o->log, o->log_max_size, o->log_max_file) < 0)
		return snprintf(msg, n, "cannot open log %s: %s", o->log, strerror(errno)), -1;
	sh->init = sh->procs = p;

	int out[2], err[2], in[2] = { -1, -1 };
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || devnull < 0 ||
	    (o->open_stdin && !o->terminal && pipe2(in, O_CLOEXEC) < 0))
		return snprintf(msg, n, "cannot make pipes: %s", strerror(errno)), -1;
	widen_pipe(out[0]);
	widen_pipe(err[0]);
	char pidfile[4096], console[4096];
	snprintf(pidfile, sizeof pidfile, "%s/init.pid", o->state_dir);
	/* next to our socket, whose path is kept short: the state dir may not fit in sun_path */
	snprintf(console, sizeof console, "%s.tty", o->socket);
	const char *argv[] = { "create", "--bundle", o->bundle, "--pid-file", pidfile,
			       o->terminal ? "--console-socket" : o->id, console, o->id, NULL };
	if (!o->terminal)
		argv[6] = NULL;
	/* with --stdin the init reads a pipe whose write end the shim keeps */
	struct run r = { .in = in[0] >= 0 ? in[0] : devnull, .out = out[1], .err = err[1], .err_read = err[0], .console = o->terminal ? console : NULL };
	int rc = run_runtime(sh, argv, &r);
	close(out[1]);
	close(err[1]);
	close(devnull);
	if (in[0] >= 0)
		close(in[0]);
	sink_init(&p->in, in[1]);
	if (rc < 0)
		return snprintf(msg, n, "cannot create container %s: %s", o->id, r.msg), -1;
	char buf[32] = { 0 };
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0 || (p->pid = atoi(buf)) <= 0)
		return snprintf(msg, n, "cannot create container %s: the runtime wrote no pid file", o->id), -1;
	close(fd);
	sh->status = "created";
	stream_init(&p->err, err[0], "stderr", p, &p->log);
	if (o->terminal) {
		p->master = 1;
		close(out[0]);
		stream_init(&p->out, r.master, "stdout", p, &p->log);
		/* attachers' input goes to the master; a dup gets its own epoll entry */
		sink_init(&p->in, fcntl(r.master, F_DUPFD_CLOEXEC, 3));
	} else {
		stream_init(&p->out, out[0], "stdout", p, &p->log);
	}
	fcntl(p->out.fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err.fd, F_SETFL, O_NONBLOCK);
	if (p->in.fd >= 0)
		fcntl(p->in.fd, F_SETFL, O_NONBLOCK);
	static int listen_kind = EV_LISTEN, signal_kind = EV_SIGNAL;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listen_kind };
	epoll_ctl(sh->epfd, EPOLL_CTL_ADD, sh->listen_fd, &ev);
	ev.data.ptr = &signal_kind;
	epoll_ctl(sh->epfd, EPOLL_CTL_ADD, sh->sig_fd, &ev);
	stream_watch(sh, &p->out);
	stream_watch(sh, &p->err);
	snprintf(path, sizeof path, "%s/shim.pid", o->state_dir);
	FILE *f = fopen(path, "we");
	if (f) {
		fprintf(f, "%d", getpid());
		fclose(f);
	}
	return 0;
}

static void reap(struct shim *sh)
{
	struct signalfd_siginfo si;
	while (read(sh->sig_fd, &si, sizeof si) == sizeof si)
		;
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (struct proc *p = sh->procs; p; p = p->next)
			if (p->pid == pid && !p->exited)
				proc_exited(sh, p, status);
		/* any other pid is an orphan reparented to us: reaped, nothing more */
	}
}

static void loop(struct shim *sh)
{
	struct epoll_event evs[16];
	for (;;) {
		int n = epoll_wait(sh->epfd, evs, 16, conn_sweep(sh));
		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < n; i++) {
			/* an object closed earlier in this batch is EV_DEAD until the batch ends */
			int kind = *(int *)evs[i].data.ptr;
			if (kind == EV_SIGNAL)
				reap(sh);
			else if (kind == EV_LISTEN) {
				int c;
				while ((c = accept4(sh->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
					conn_accept(sh, c);
			} else if (kind == EV_STREAM)
				stream_pump(sh, (struct stream *)evs[i].data.ptr);
			else if (kind == EV_CONN)
				conn_event(sh, (struct conn *)evs[i].data.ptr, evs[i].events);
			else if (kind == EV_SINK)
				sink_event(sh, (struct sink *)evs[i].data.ptr);
		}
		for (size_t i = 0; i < sh->ndead; i++)
			free(sh->dead[i]);
		free(sh->dead);
		sh->dead = NULL;
		sh->ndead = 0;
	}
}

int main(int argc, char **argv)
{
	static struct shim sh;
	sh.o.ready_fd = -1;
	if (parse_args(argc, argv, &sh.o) < 0)
		return 2;
	int ready[2] = { -1, -1 };
	if (sh.o.ready_fd >= 0) {
		/* the starter reads this fd itself: no waiting half, nothing on stdout */
		ready[1] = sh.o.ready_fd;
		fcntl(ready[1], F_SETFD, FD_CLOEXEC);
	}
	if (access(sh.o.runtime, X_OK) < 0) {
		char m[1200];
		snprintf(m, sizeof m, "cannot use runtime %s: %s", sh.o.runtime, strerror(errno));
		if (ready[1] >= 0) {
			tell(ready[1], 'E', m);
			return 1;
		}
		fprintf(stderr, "berth-shim: %s\n", m);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (ready[1] < 0 && pipe2(ready, O_CLOEXEC) < 0)
		return 1;
	pid_t pid = fork();
	if (pid < 0) {
		perror("berth-shim: fork");
		return 1;
	}
	if (pid > 0 && sh.o.ready_fd >= 0)
		return 0; /* the verdict goes straight from the shim to the starter */
	if (pid > 0) {
		/* the starter's half: wait for the verdict, pass it on */
		close(ready[1]);
		char buf[1400];
		size_t got = 0;
		ssize_t k;
		while (got < sizeof buf - 1 && (k = read(ready[0], buf + got, sizeof buf - 1 - got)) != 0) {
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				break;
			got += (size_t)k;
		}
		buf[got] = 0;
		if (got > 0 && buf[0] == 'K') {
			/* stdout keeps its contract: the shim's pid alone */
			buf[1 + strcspn(buf + 1, " ")] = 0;
			printf("%s\n", buf + 1);
			return 0;
		}
		fprintf(stderr, "berth-shim: %s\n", got > 1 ? buf + 1 : "the shim died while starting");
		return 1;
	}
	if (ready[0] >= 0)
		close(ready[0]);
	/* its own session: no terminal, no signals meant for the starter's group */
	setsid();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (chdir("/") < 0) {
		/* keep going: nothing relies on the working directory */
	}
	int devnull = open("/dev/null", O_RDWR);
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(devnull, 2);
	if (devnull > 2)
		close(devnull);
	char msg[1200];
	if (setup(&sh, msg, sizeof msg) < 0) {
		/* leave nothing behind: the runtime's state (if any), our socket and state */
		const char *del[] = { "delete", "--force", sh.o.id, NULL };
		char ignored[256];
		if (sh.runtime_root)
			run_simple(&sh, del, ignored, sizeof ignored);
		unlink(sh.o.socket);
		rm_tree(sh.o.state_dir);
		/* a log that received nothing was made by us: take it away too */
		struct stat st;
		if (stat(sh.o.log, &st) == 0 && st.st_size == 0)
			unlink(sh.o.log);
		tell(ready[1], 'E', msg);
		return 1;
	}
	/* the init's pid rides along, so the starter needs no STATE round trip */
	snprintf(msg, sizeof msg, "%d %d", getpid(), sh.init ? (int)sh.init->pid : 0);
	tell(ready[1], 'K', msg);
	loop(&sh);
	return 0;
}
