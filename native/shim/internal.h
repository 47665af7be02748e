/* berth-shim internals: one process per container (see README.md). */
#ifndef BERTH_SHIM_INTERNAL_H
#define BERTH_SHIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Docker splits lines longer than this into partial entries. */
#define LINE_MAX_BYTES 16384

/* A json-file log: one JSON object per line, rotated at max_size. */
struct jlog {
	char *path;
	int fd;
	long long size;
	long long max_size; /* 0: never rotate */
	int max_file;
	int last_errno; /* last write failure (ENOSPC …); the container keeps running */
};

enum ev_kind { EV_LISTEN = 1, EV_SIGNAL, EV_STREAM };

/* One output of a process (a pipe, or the pty master as "stdout"). */
struct stream {
	int kind; /* EV_STREAM: first member, epoll data points here */
	int fd;
	const char *name; /* "stdout" | "stderr" */
	struct jlog *log;
	size_t len;
	char *buf; /* LINE_MAX_BYTES, allocated on first data */
};

/* The init (id "") or one exec. */
struct proc {
	char *id;
	pid_t pid;
	int exited;
	int code;
	uint64_t exit_ns;
	int master; /* pty master, -1 without a terminal */
	int stdin_fd; /* the shim's end of stdin, -1 when none */
	struct stream out, err;
	struct jlog log;
	int *waiters;
	int nwaiters;
	struct proc *next;
};

struct opts {
	const char *id, *bundle, *runtime, *socket, *state_dir, *log;
	const char **runtime_args;
	int nruntime_args;
	long long log_max_size;
	int log_max_file;
	int terminal;
};

struct shim {
	struct opts o;
	char *runtime_root;
	int epfd, listen_fd, sig_fd;
	const char *status; /* created running stopped deleted */
	struct proc *init;
	struct proc *procs;
};

/* jsonlog.c */
int jlog_open(struct jlog *l, const char *path, long long max_size, int max_file);
void jlog_close(struct jlog *l);
void jlog_entry(struct jlog *l, const char *stream, const char *p, size_t n, int newline);
uint64_t now_ns(void);
void format_time(uint64_t ns, char *out, size_t n);

/* stream.c */
void stream_init(struct stream *s, int fd, const char *name, struct jlog *log);
/* Reads what is available; returns 0 at EOF or error (stream closed), 1 otherwise. */
int stream_pump(struct shim *sh, struct stream *s);
void stream_feed(struct stream *s, const char *p, size_t n);
void stream_close(struct shim *sh, struct stream *s);
int stream_watch(struct shim *sh, struct stream *s);

/* runtime.c */
struct run {
	int in, out, err; /* fds given to the runtime as 0 1 2 */
	int err_read; /* the read end of err: the message when the runtime fails */
	const char *console; /* --console-socket path, or NULL */
	int master; /* out: the pty master received on the console socket */
	char msg[1024]; /* out: why it failed (the runtime's stderr) */
};
/* Runs `<runtime> [runtime args] --root <root> argv…`; 0 when it exits 0. */
int run_runtime(struct shim *sh, const char *const *argv, struct run *r);
/* Runs a runtime command with its output captured, no container stdio. */
int run_simple(struct shim *sh, const char *const *argv, char *msg, size_t n);

/* server.c */
void serve_client(struct shim *sh, int fd);
void proc_exited(struct shim *sh, struct proc *p, int wstatus);
struct proc *proc_find(struct shim *sh, const char *id);
int write_exit_record(struct shim *sh, struct proc *p);

/* util */
void rm_tree(const char *path);
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
