/* A process output: bytes in, complete lines out to the json-file log.
 * A line longer than LINE_MAX_BYTES is logged in pieces without "\n", and a
 * last line without "\n" is logged as it is when the stream ends. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

void stream_init(struct stream *s, int fd, const char *name, struct proc *p, struct jlog *log)
{
	s->kind = EV_STREAM;
	s->proc = p;
	s->fd = fd;
	s->name = name;
	s->log = log;
	s->len = 0;
	s->buf = NULL;
	s->paused = 0;
}

void widen_pipe(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETPIPE_SZ, OUTPUT_PIPE_BYTES);
}

int stream_watch(struct shim *sh, struct stream *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	return s->fd < 0 ? 0 : epoll_ctl(sh->epfd, EPOLL_CTL_ADD, s->fd, &ev);
}

void stream_feed(struct stream *s, const char *p, size_t n)
{
	if (!s->buf && !(s->buf = malloc(LINE_MAX_BYTES)))
		return;
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (nl && s->len == 0 && take < LINE_MAX_BYTES) {
			/* a whole line in the read: formatted from where it is */
			jlog_entry(s->log, s->name, p, take, 1);
			p += take + 1;
			n -= take + 1;
			continue;
		}
		size_t room = LINE_MAX_BYTES - s->len;
		if (take >= room) {
			/* the line outgrows the buffer: log what we have as a partial entry */
			memcpy(s->buf + s->len, p, room);
			jlog_entry(s->log, s->name, s->buf, LINE_MAX_BYTES, 0);
			s->len = 0;
			p += room;
			n -= room;
			continue;
		}
		memcpy(s->buf + s->len, p, take);
		s->len += take;
		p += take;
		n -= take;
		if (nl) {
			jlog_entry(s->log, s->name, s->buf, s->len, 1);
			s->len = 0;
			p++;
			n--;
		}
	}
	/* one write for the lines of this read, before anything else happens:
	 * what the log holds is what was read (LOG_POS, a kill -9 after) */
	jlog_flush(s->log);
}

void stream_close(struct shim *sh, struct stream *s)
{
	if (s->len)
		jlog_entry(s->log, s->name, s->buf, s->len, 0);
	jlog_flush(s->log);
	s->len = 0;
	free(s->buf);
	s->buf = NULL;
	if (s->fd >= 0) {
		epoll_ctl(sh->epfd, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	s->fd = -1;
	s->paused = 0;
}

/* Backpressure: while an attacher of s is too far behind, s is not read, so
 * the process blocks on a full pipe instead of the attacher losing output.
 * Level-triggered epoll wakes it again once attach_resume puts it back. */
static void pause_stream(struct shim *sh, struct stream *s)
{
	epoll_ctl(sh->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->paused = 1;
}

int stream_pump(struct shim *sh, struct stream *s)
{
	/* a pipe's whole capacity per read: fewer reads, log writes and attach
	 * messages for a process writing fast (the loop is single-threaded);
	 * its pages are touched only by a process that writes that much at once */
	static char buf[OUTPUT_PIPE_BYTES];
	struct proc *p = s->proc;
	for (;;) {
		if (s->fd < 0)
			return 0;
		if (s->paused)
			return 1;
		if (attach_backlogged(sh, s)) {
			pause_stream(sh, s);
			return 1;
		}
		ssize_t r = read(s->fd, buf, sizeof buf);
		if (r > 0) {
			/* attachers get it whether or not the log could take it; a flush to
			 * one of them may come back to exit_ready, which must not end
			 * the attach halfway through this read */
			sh->pumping++;
			stream_feed(s, buf, (size_t)r);
			attach_output(sh, s, buf, (size_t)r);
			sh->pumping--;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			exit_ready(sh, p);
			return 1;
		}
		/* EOF, or EIO from a pty master whose slave side is gone */
		stream_close(sh, s);
		exit_ready(sh, p);
		return 0;
	}
}
