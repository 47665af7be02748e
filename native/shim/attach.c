/* Attach streams: a process's output fanned out to its attachers as it is
 * read (the log gets it too, whatever happens to the log), and attachers'
 * input written to the process's stdin without ever blocking the loop.
 * An attacher gets every byte: while one is more than ATTACH_HIGH_WATER
 * behind, its streams are not read (stream.c), so the process waits on a
 * full pipe, as with docker; one that leaves lets them go at once. */
#include "internal.h"
#include "../executor/wire.h"
#include <berth/shim.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Input the process has not read yet; past this an attacher is cut off. */
#define MAX_STDIN_QUEUE (1u << 20)

static unsigned stream_bit(const struct stream *s)
{
	return s == &s->proc->err ? ATTACH_STDERR : ATTACH_STDOUT;
}

void attach_output(struct shim *sh, struct stream *s, const char *p, size_t n)
{
	struct proc *pr = s->proc;
	int err = s == &pr->err;
	unsigned want = stream_bit(s);
	for (struct conn *c = sh->conns, *nx; c; c = nx) {
		nx = c->next;
		if (c->state != C_ATTACH || c->p != pr || !(c->streams & want) || c->closing)
			continue;
		struct wbuf b;
		wbuf_init(&b, err ? SHIM_ATT_STDERR : SHIM_ATT_STDOUT);
		wbuf_rec(&b, SHIM_REC_DATA);
		wbuf_bytes(&b, p, n);
		conn_send(sh, c, &b);
		wbuf_free(&b);
	}
}

int attach_backlogged(struct shim *sh, const struct stream *s)
{
	unsigned want = stream_bit(s);
	for (struct conn *c = sh->conns; c; c = c->next)
		if (c->state == C_ATTACH && c->p == s->proc && (c->streams & want) && !c->closing && c->outlen > ATTACH_HIGH_WATER)
			return 1;
	return 0;
}

void attach_resume(struct shim *sh, struct proc *p)
{
	struct stream *ss[2] = { &p->out, &p->err };
	for (int i = 0; i < 2; i++) {
		struct stream *s = ss[i];
		if (!s->paused || s->fd < 0 || attach_backlogged(sh, s))
			continue;
		/* back in the poll set: level-triggered, so what waits in the pipe wakes it */
		s->paused = 0;
		stream_watch(sh, s);
	}
	/* an exited process whose pipes are empty by now: nothing would wake them */
	exit_ready(sh, p);
}

/* The process has exited and its output is read: attachers get EXIT and go. */
void attach_exit(struct shim *sh, struct proc *p)
{
	for (struct conn *c = sh->conns, *nx; c; c = nx) {
		nx = c->next;
		if (c->state != C_ATTACH || c->p != p || c->closing)
			continue;
		struct wbuf b;
		wbuf_init(&b, SHIM_REP_EXIT);
		wbuf_rec(&b, SHIM_REC_EXIT_STATUS);
		wbuf_u32(&b, (uint32_t)p->code);
		wbuf_rec(&b, SHIM_REC_EXIT_TIME);
		wbuf_u32(&b, (uint32_t)p->exit_ns);
		wbuf_u32(&b, (uint32_t)(p->exit_ns >> 32));
		conn_send(sh, c, &b);
		wbuf_free(&b);
		if (c->kind != EV_CONN)
			continue;
		c->closing = 1;
		if (c->outlen == 0)
			conn_close(sh, c);
	}
}

void attach_input(struct shim *sh, struct conn *c, uint16_t type, const struct wmsg *m)
{
	if (!(c->streams & ATTACH_STDIN))
		return;
	if (type == SHIM_ATT_CLOSE_STDIN) {
		c->p->in.close_after = 1;
		if (c->p->in.len == 0)
			sink_close(sh, &c->p->in);
		return;
	}
	struct wrec r;
	if (type != SHIM_ATT_STDIN || !wire_find(m, SHIM_REC_DATA, &r))
		return;
	struct wcur cur;
	wcur_init(&cur, &r);
	uint32_t n = 0;
	const uint8_t *p = wcur_bytes(&cur, &n);
	if (cur.bad || n == 0)
		return;
	if (c->p->in.fd < 0)
		return; /* stdin was closed: what comes after is dropped, as a pipe would */
	if (sink_write(sh, &c->p->in, p, n) < 0) {
		shim_log("dropping an attacher of %s: its process does not read its input", *c->p->id ? c->p->id : sh->o.id);
		conn_close(sh, c);
	}
}

void sink_init(struct sink *k, int fd)
{
	k->kind = EV_SINK;
	k->fd = fd;
	k->q = NULL;
	k->len = 0;
	k->close_after = 0;
}

void sink_close(struct shim *sh, struct sink *k)
{
	if (k->fd >= 0) {
		if (k->len)
			epoll_ctl(sh->epfd, EPOLL_CTL_DEL, k->fd, NULL);
		close(k->fd);
	}
	k->fd = -1;
	free(k->q);
	k->q = NULL;
	k->len = 0;
}

/* Writes from the queue; returns bytes left or -1 when the reader is gone. */
static ssize_t drain_queue(struct shim *sh, struct sink *k)
{
	size_t off = 0;
	while (off < k->len) {
		ssize_t w = write(k->fd, k->q + off, k->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0) {
			/* EPIPE: the process closed its stdin; nothing more can go in */
			sink_close(sh, k);
			return -1;
		}
		off += (size_t)w;
	}
	memmove(k->q, k->q + off, k->len - off);
	k->len -= off;
	return (ssize_t)k->len;
}

int sink_write(struct shim *sh, struct sink *k, const uint8_t *p, size_t n)
{
	if (k->fd < 0)
		return -1;
	if (k->len + n > MAX_STDIN_QUEUE)
		return -1;
	size_t was = k->len;
	char *q = realloc(k->q, k->len + n);
	if (!q)
		return -1;
	memcpy(q + k->len, p, n);
	k->q = q;
	k->len += n;
	ssize_t left = drain_queue(sh, k);
	if (left < 0)
		return 0; /* the reader left: the bytes are gone, as with a pipe */
	if (left > 0 && was == 0) {
		struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = k };
		epoll_ctl(sh->epfd, EPOLL_CTL_ADD, k->fd, &ev);
	}
	if (left == 0 && was > 0)
		epoll_ctl(sh->epfd, EPOLL_CTL_DEL, k->fd, NULL);
	return 0;
}

void sink_event(struct shim *sh, struct sink *k)
{
	if (k->fd < 0)
		return;
	ssize_t left = drain_queue(sh, k);
	if (left != 0)
		return;
	epoll_ctl(sh->epfd, EPOLL_CTL_DEL, k->fd, NULL);
	if (k->close_after)
		sink_close(sh, k);
}
