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
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Input the process has not read yet; past this an attacher is cut off. */
#define MAX_STDIN_QUEUE (1u << 20)

static unsigned stream_bit(const struct stream *s)
{
	return s == &s->proc->err ? ATTACH_STDERR : ATTACH_STDOUT;
}

/* The Engine API's multiplexed stream: frames of at most this many bytes,
 * as dockerd writes them, so no client buffers more for one frame. */
#define STDCOPY_FRAME (32u << 10)
#define STDCOPY_HEADER 8
/* Frames per sendmsg: a read of the output (up to 1 MiB) takes up to four. */
#define FRAMES_PER_SEND 8

/* Queues what sendmsg did not take (iov after the first `sent` bytes). */
static void queue_rest(struct shim *sh, struct conn *o, const struct iovec *iov, int n, size_t sent)
{
	for (int i = 0; i < n && o->kind == EV_CONN; i++) {
		if (sent >= iov[i].iov_len) {
			sent -= iov[i].iov_len;
			continue;
		}
		conn_queue(sh, o, (const char *)iov[i].iov_base + sent, iov[i].iov_len - sent);
		sent = 0;
	}
}

/* Writes iov to a handed-over output: straight from the read buffer when
 * nothing is queued before it (no copy), the rest queued. */
static void output_send(struct shim *sh, struct conn *o, struct iovec *iov, int n)
{
	size_t sent = 0;
	if (o->outlen == 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w;
		do
			w = sendmsg(o->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_close(sh, o); /* the client left: its attacher goes too */
			return;
		}
		sent = w < 0 ? 0 : (size_t)w;
	}
	queue_rest(sh, o, iov, n, sent);
}

/* Output for a handed-over descriptor (OUTPUT_FD): stdcopy frames (an
 * 8-byte header: the stream, three zero bytes, the size big-endian), or
 * the bytes as they are with a TTY. */
static void output_write(struct shim *sh, struct conn *o, int err, const char *p, size_t n)
{
	if (o->framing == OUTPUT_RAW) {
		struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
		output_send(sh, o, &iov, 1);
		return;
	}
	uint8_t hdr[FRAMES_PER_SEND][STDCOPY_HEADER];
	struct iovec iov[2 * FRAMES_PER_SEND];
	while (n > 0 && o->kind == EV_CONN) {
		int k = 0;
		for (; k < FRAMES_PER_SEND && n > 0; k++) {
			size_t len = n < STDCOPY_FRAME ? n : STDCOPY_FRAME;
			uint8_t *h = hdr[k];
			h[0] = err ? 2 : 1;
			h[1] = h[2] = h[3] = 0;
			h[4] = (uint8_t)(len >> 24);
			h[5] = (uint8_t)(len >> 16);
			h[6] = (uint8_t)(len >> 8);
			h[7] = (uint8_t)len;
			iov[2 * k] = (struct iovec){ .iov_base = h, .iov_len = STDCOPY_HEADER };
			iov[2 * k + 1] = (struct iovec){ .iov_base = (void *)p, .iov_len = len };
			p += len;
			n -= len;
		}
		output_send(sh, o, iov, 2 * k);
	}
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
		if (c->output) {
			output_write(sh, c->output, err, p, n);
			continue;
		}
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
		if (c->state == C_ATTACH && c->p == s->proc && (c->streams & want) && !c->closing && attach_queued(c) > ATTACH_HIGH_WATER)
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

/* The process has exited and its output is read: attachers get EXIT and go;
 * one with a handed-over output once that is written and closed (unpair in
 * conn.c), so the client has every byte before the engine hears of the end. */
void attach_exit(struct shim *sh, struct proc *p)
{
	for (struct conn *c = sh->conns, *nx; c; c = nx) {
		nx = c->next;
		if (c->state != C_ATTACH || c->p != p || c->closing || c->exit_told)
			continue;
		if (c->output) {
			struct conn *o = c->output;
			c->exit_told = 1;
			o->closing = 1;
			if (o->outlen == 0)
				conn_close(sh, o);
			continue;
		}
		attach_send_exit(sh, c);
	}
}

void attach_send_exit(struct shim *sh, struct conn *c)
{
	struct proc *p = c->p;
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
		return;
	c->closing = 1;
	if (c->outlen == 0)
		conn_close(sh, c);
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
