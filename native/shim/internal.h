/* berth-shim internals: one process per container (see README.md). */
#ifndef BERTH_SHIM_INTERNAL_H
#define BERTH_SHIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct wbuf;
struct wmsg;

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
	unsigned errors; /* entries lost to write failures; each next entry tries again */
	uint32_t generation; /* rotations so far (renames or, with max_file 1, truncations) */
	uint64_t inode; /* of the file fd writes, 0 when there is none (LOG_POS) */
	long long kicked; /* the file's writeback was started up to here (jsonlog.c) */
	/* entries formatted since the last jlog_flush: written in one write()
	 * per read of the process's output, never held across the event loop */
	char *pend;
	size_t plen, pcap;
	uint64_t batch_ns; /* the time of the next entry of this batch, 0: read the clock (jsonlog.c) */
	uint64_t last_ns; /* the last entry's time: the next is later */
	char time_text[32]; /* last_ns as the log writes it (RFC 3339, nanoseconds) */
};

enum ev_kind { EV_LISTEN = 1, EV_SIGNAL, EV_STREAM, EV_CONN, EV_SINK, EV_DEAD };

struct proc;

/* One output of a process (a pipe, or the pty master as "stdout"). */
struct stream {
	int kind; /* EV_STREAM: first member, epoll data points here */
	int fd;
	const char *name; /* "stdout" | "stderr" */
	struct proc *proc;
	struct jlog *log;
	size_t len;
	char *buf; /* LINE_MAX_BYTES, allocated on first data */
	int paused; /* out of the poll set while an attacher is too far behind (backpressure) */
};

/* Where attachers' input goes: written without blocking, the rest queued. */
struct sink {
	int kind; /* EV_SINK: first member, epoll data points here */
	int fd; /* -1: no stdin (or closed) */
	char *q; /* bytes the process has not taken yet */
	size_t len;
	int close_after; /* CLOSE_STDIN came while bytes were queued */
};

/* A client connection: reading its request, a parked WAIT, or an attacher;
 * or C_OUTPUT: a descriptor an attacher handed over (OUTPUT_FD), written
 * to and never read. */
enum conn_state { C_REQUEST, C_WAIT, C_ATTACH, C_OUTPUT };
/* How output is written to a handed-over descriptor (OUTPUT_FD's framing). */
#define OUTPUT_STDCOPY 1
#define OUTPUT_RAW 2
struct conn {
	int kind; /* EV_CONN */
	int fd;
	enum conn_state state;
	uint64_t deadline; /* C_REQUEST: closed when nothing complete came by then */
	uint8_t *in; /* bytes received, not yet a whole frame */
	size_t inlen, incap;
	uint8_t *out; /* frames not yet sent (an attacher that reads slowly) */
	size_t outlen;
	int closing; /* close once out is flushed */
	struct proc *p; /* C_WAIT, C_ATTACH */
	unsigned streams; /* ATTACH_STDIN | ATTACH_STDOUT | ATTACH_STDERR */
	int passed_fd; /* a descriptor that came with the request (SCM_RIGHTS), -1 for none */
	struct conn *output; /* C_ATTACH: where its output goes instead (C_OUTPUT), or NULL */
	struct conn *owner; /* C_OUTPUT: its attacher */
	int framing; /* C_OUTPUT: OUTPUT_STDCOPY or OUTPUT_RAW */
	int exit_told; /* C_ATTACH with an output: EXIT goes out once the output is written */
	struct conn *next;
};
/* Output queued for an attacher, wherever it goes. */
static inline size_t attach_queued(const struct conn *c)
{
	return c->outlen + (c->output ? c->output->outlen : 0);
}
/* Backpressure (attach.c): past HIGH queued for an attacher its streams are
 * not read; below LOW they are read again. A connection holds at most HIGH
 * plus one read of each stream, and never more than MAX_BACKLOG (conn.c). */
#define ATTACH_HIGH_WATER (1u << 20)
#define ATTACH_LOW_WATER (256u << 10)
#define ATTACH_STDIN 1u
#define ATTACH_STDOUT 2u
#define ATTACH_STDERR 4u

/* The init (id "") or one exec. */
struct proc {
	char *id;
	pid_t pid;
	int exited;
	int code;
	uint64_t exit_ns;
	/* exited, output not all read yet (a stream paused for a slow attacher):
	 * attachers get EXIT once it is; waiters once attachers have it all, or
	 * at exit_deadline */
	int exit_pending;
	int waiters_pending;
	uint64_t exit_deadline;
	int master; /* 1 when out.fd is a pty master, -1 without a terminal */
	struct sink in; /* the shim's end of stdin (a pipe, or a dup of the pty master) */
	struct stream out, err;
	struct jlog log;
	struct proc *next;
};

struct opts {
	const char *id, *bundle, *runtime, *socket, *state_dir, *log;
	const char **runtime_args;
	int nruntime_args;
	long long log_max_size;
	int log_max_file;
	/* --ready-fd: where the verdict goes; -1 for the stdout/stderr of a waiting starter */
	int ready_fd;
	int terminal;
	int open_stdin; /* --stdin: the init's stdin is a pipe the shim holds */
	/* --planner: the fast path. The runtime is Berth's own and berth-core
	 * plans in-process on this socket: runtime calls run the front's
	 * conversation in a fork of the shim instead of exec'ing the runtime. */
	const char *planner;
};

struct shim {
	struct opts o;
	char *runtime_root;
	int epfd, listen_fd, sig_fd;
	const char *status; /* created running stopped deleted */
	struct proc *init;
	struct proc *procs;
	struct conn *conns;
	/* a read of output is being handed out (log, attachers): its process's
	 * exit waits until it is all out, though its pipe may look empty */
	int pumping;
		void **dead; /* freed after the current batch of events (epoll may still name them) */
	size_t ndead;
};

/* jsonlog.c */
int jlog_open(struct jlog *l, const char *path, long long max_size, int max_file);
void jlog_close(struct jlog *l);
void jlog_entry(struct jlog *l, const char *stream, const char *p, size_t n, int newline);
/* Writes the entries jlog_entry formatted (stream_feed calls it after each read). */
void jlog_flush(struct jlog *l);
/* Appends a LOG_POS record: where the log stands now (protocol.ts). */
void jlog_pos(const struct jlog *l, struct wbuf *b);
uint64_t now_ns(void);
void format_time(uint64_t ns, char *out, size_t n);

/* stream.c */
/* A process's output pipe holds this much, and the shim reads it in one
 * go (with docker's 64 KiB, 100 MB written in short lines took 0.9 s to
 * cross the shim; with 1 MiB, 0.55 s: the writer blocks and the shim wakes
 * sixteen times less often). Pipe pages are taken as they fill, so an idle
 * container costs nothing more. */
#define OUTPUT_PIPE_BYTES (1 << 20)
/* Grows the pipe of fd to OUTPUT_PIPE_BYTES; best effort (an unprivileged
 * user past its pipe-user-pages-soft keeps the default). */
void widen_pipe(int fd);
void stream_init(struct stream *s, int fd, const char *name, struct proc *p, struct jlog *log);
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
/* Runs a runtime command with its output captured, no container stdio;
 * 0 when it exits 0, RUN_KILLED when a signal ended it, -1 otherwise. */
#define RUN_KILLED (-2)
int run_simple(struct shim *sh, const char *const *argv, char *msg, size_t n);

/* conn.c */
void conn_accept(struct shim *sh, int fd);
void conn_event(struct shim *sh, struct conn *c, uint32_t events);
void conn_close(struct shim *sh, struct conn *c);
/* Queues a frame for c and sends what the socket takes now. */
void conn_send(struct shim *sh, struct conn *c, struct wbuf *b);
/* Queues bytes for c (a C_OUTPUT takes them as they are) and sends what the socket takes now. */
void conn_queue(struct shim *sh, struct conn *c, const void *p, size_t n);
/* Makes fd (handed over with an ATTACH) the output of attacher c. */
int conn_adopt_output(struct shim *sh, struct conn *c, int fd, int framing);
/* Closes connections that sent no whole request in time; returns the ms to the next deadline, -1 for none. */
int conn_sweep(struct shim *sh);
void later_free(struct shim *sh, void *p);

/* attach.c */
void attach_output(struct shim *sh, struct stream *s, const char *p, size_t n);
void attach_exit(struct shim *sh, struct proc *p);
/* Sends EXIT of its process to attacher c and closes it once that is out. */
void attach_send_exit(struct shim *sh, struct conn *c);
/* Whether an attacher of s has more than the high-water mark queued. */
int attach_backlogged(struct shim *sh, const struct stream *s);
/* Puts p's paused streams back in the poll set when no attacher holds them back. */
void attach_resume(struct shim *sh, struct proc *p);
void attach_input(struct shim *sh, struct conn *c, uint16_t type, const struct wmsg *m);
void sink_init(struct sink *k, int fd);
void sink_event(struct shim *sh, struct sink *k);
void sink_close(struct shim *sh, struct sink *k);
/* 0 when taken (written or queued), -1 when the process has no stdin or too much is queued */
int sink_write(struct shim *sh, struct sink *k, const uint8_t *p, size_t n);

/* server.c */
/* Answers one request; the connection may become a waiter or an attacher. */
void serve_request(struct shim *sh, struct conn *c, const struct wmsg *m);
void proc_exited(struct shim *sh, struct proc *p, int wstatus);
struct proc *proc_find(struct shim *sh, const char *id);
int write_exit_record(struct shim *sh, struct proc *p);
/* Tells p's waiters and attachers of its exit once its output is read (see proc.exit_pending). */
void exit_ready(struct shim *sh, struct proc *p);
/* Answers waiters held past their deadline; returns the ms to the next one, -1 for none. */
int exit_sweep(struct shim *sh);

/* util */
void rm_tree(const char *path);
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
