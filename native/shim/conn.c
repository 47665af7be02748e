/* Client connections, all non-blocking in the one epoll loop: a client that
 * connects and says nothing or a WAIT parked for minutes never holds up the
 * container, its log or other clients. An attacher that reads slowly slows
 * the output of its process (attach.c), and nothing else. */
#include "internal.h"
#include "../executor/wire.h"
#include <berth/shim.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Time a client has to send its whole request. */
#define REQUEST_TIMEOUT_NS (5ull * 1000000000ull)
/* A request (an exec's process JSON) or one stdin frame is far below this. */
#define MAX_FRAME (4u << 20)
/* Backpressure keeps an attacher near ATTACH_HIGH_WATER; this is the bound
 * that holds whatever happens: past it a connection is dropped. */
#define MAX_BACKLOG (8u << 20)

void later_free(struct shim *sh, void *p)
{
	void **d = realloc(sh->dead, sizeof *d * (sh->ndead + 1));
	if (!d) {
		/* leak rather than free memory epoll may still name */
		return;
	}
	sh->dead = d;
	d[sh->ndead++] = p;
}

static void watch(struct shim *sh, struct conn *c, int op)
{
	/* a handed-over output is never read: its client's input (if any) is
	 * the engine's to read, and a client that half-closes still wants output */
	uint32_t in = c->state == C_OUTPUT ? 0 : EPOLLIN | EPOLLRDHUP;
	struct epoll_event ev = { .events = in | (c->outlen ? EPOLLOUT : 0), .data.ptr = c };
	epoll_ctl(sh->epfd, op, c->fd, &ev);
}

void conn_accept(struct shim *sh, int fd)
{
	struct conn *c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	c->kind = EV_CONN;
	c->fd = fd;
	c->passed_fd = -1;
	c->state = C_REQUEST;
	c->deadline = now_ns() + REQUEST_TIMEOUT_NS;
	c->next = sh->conns;
	sh->conns = c;
	watch(sh, c, EPOLL_CTL_ADD);
}

int conn_adopt_output(struct shim *sh, struct conn *c, int fd, int framing)
{
	struct conn *o = calloc(1, sizeof *o);
	if (!o)
		return -1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	o->kind = EV_CONN;
	o->fd = fd;
	o->passed_fd = -1;
	o->state = C_OUTPUT;
	o->framing = framing;
	o->p = c->p;
	o->owner = c;
	c->output = o;
	o->next = sh->conns;
	sh->conns = o;
	/* no events asked: epoll still reports an error or a hang-up */
	watch(sh, o, EPOLL_CTL_ADD);
	return 0;
}

/* The pair of an attacher and its output goes together: a detach drops the
 * output; an output closed after the exit lets its attacher have EXIT; one
 * that failed (the client left) ends the attach. */
static void unpair(struct shim *sh, struct conn *c)
{
	if (c->output) {
		struct conn *o = c->output;
		c->output = NULL;
		o->owner = NULL;
		conn_close(sh, o);
	}
	if (c->owner) {
		struct conn *a = c->owner;
		c->owner = NULL;
		a->output = NULL;
		if (a->exit_told && c->outlen == 0)
			attach_send_exit(sh, a);
		else
			conn_close(sh, a);
	}
}

void conn_close(struct shim *sh, struct conn *c)
{
	if (c->kind != EV_CONN)
		return;
	struct proc *held = c->state == C_ATTACH || c->state == C_OUTPUT ? c->p : NULL;
	for (struct conn **pp = &sh->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	epoll_ctl(sh->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (c->passed_fd >= 0)
		close(c->passed_fd);
	c->passed_fd = -1;
	c->kind = EV_DEAD;
	unpair(sh, c);
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	later_free(sh, c);
	/* an attacher that leaves holds its process's output back no more */
	if (held)
		attach_resume(sh, held);
}

/* Sends queued bytes; 0 while the connection lives. */
static int flush(struct shim *sh, struct conn *c)
{
	size_t off = 0;
	while (off < c->outlen) {
		ssize_t w = send(c->fd, c->out + off, c->outlen - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0) {
			conn_close(sh, c);
			return -1;
		}
		off += (size_t)w;
	}
	memmove(c->out, c->out + off, c->outlen - off);
	c->outlen -= off;
	if (c->outlen == 0 && c->closing) {
		conn_close(sh, c);
		return -1;
	}
	watch(sh, c, EPOLL_CTL_MOD);
	if ((c->state == C_ATTACH || c->state == C_OUTPUT) && attach_queued(c->owner ? c->owner : c) <= ATTACH_LOW_WATER)
		attach_resume(sh, c->p);
	return c->kind == EV_CONN ? 0 : -1;
}

void conn_queue(struct shim *sh, struct conn *c, const void *p, size_t n)
{
	if (c->kind != EV_CONN)
		return;
	if (c->outlen + n > MAX_BACKLOG) {
		shim_log("dropping an attacher of %s that does not read its output", c->p && *c->p->id ? c->p->id : sh->o.id);
		conn_close(sh, c);
		return;
	}
	uint8_t *q = realloc(c->out, c->outlen + n);
	if (!q) {
		conn_close(sh, c);
		return;
	}
	memcpy(q + c->outlen, p, n);
	c->out = q;
	c->outlen += n;
	flush(sh, c);
}

void conn_send(struct shim *sh, struct conn *c, struct wbuf *b)
{
	if (c->kind != EV_CONN || wbuf_finish(b) < 0)
		return;
	conn_queue(sh, c, b->data, b->len);
}

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* Handles every whole frame in c->in; 0 while the connection lives. */
static int frames(struct shim *sh, struct conn *c)
{
	size_t off = 0;
	int alive = 1;
	while (alive && c->inlen - off >= 4) {
		uint32_t n = get32(c->in + off);
		if (n < 2 || n > MAX_FRAME) {
			conn_close(sh, c);
			return -1;
		}
		if (c->inlen - off < 4 + (size_t)n)
			break;
		struct wmsg m;
		if (wire_parse(c->in + off, 4 + (size_t)n, &m) < 0 || wire_validate(&m) < 0) {
			wire_free(&m);
			conn_close(sh, c);
			return -1;
		}
		off += 4 + (size_t)n;
		if (c->state == C_REQUEST)
			serve_request(sh, c, &m);
		else if (c->state == C_ATTACH)
			attach_input(sh, c, m.type, &m);
		/* a parked WAIT has nothing more to say: extra bytes are ignored */
		wire_free(&m);
		alive = c->kind == EV_CONN;
	}
	if (!alive)
		return -1;
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	return 0;
}

/* recv() that also takes a descriptor sent with the bytes (an ATTACH's
 * OUTPUT_FD): kept on the connection until a request uses it; any other is
 * closed. */
static ssize_t recv_fds(struct conn *c, void *buf, size_t n)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b };
	ssize_t r = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (r < 0)
		return r;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
			if (c->passed_fd < 0 && c->state == C_REQUEST)
				c->passed_fd = fd;
			else
				close(fd);
		}
	}
	return r;
}

void conn_event(struct shim *sh, struct conn *c, uint32_t events)
{
	if ((events & EPOLLOUT) && flush(sh, c) < 0)
		return;
	if (c->state == C_OUTPUT) {
		/* never read; an error or hang-up means its client is gone */
		if (events & (EPOLLHUP | EPOLLERR))
			conn_close(sh, c);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		if (c->incap - c->inlen < 4096) {
			size_t cap = c->incap ? c->incap * 2 : 4096;
			uint8_t *b = cap <= MAX_FRAME + 4096 ? realloc(c->in, cap) : NULL;
			if (!b) {
				conn_close(sh, c);
				return;
			}
			c->in = b;
			c->incap = cap;
		}
		ssize_t r = recv_fds(c, c->in + c->inlen, c->incap - c->inlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {
			/* the client is gone (or broke the connection): a waiter or an
			 * attacher leaves; the container and its log do not notice */
			if (r == 0 && c->inlen)
				frames(sh, c);
			conn_close(sh, c);
			return;
		}
		c->inlen += (size_t)r;
		if (frames(sh, c) < 0)
			return;
		/* a request answered on this connection ends the reading */
		if (c->kind != EV_CONN)
			return;
	}
	if (c->inlen == 0 && c->incap > 4096) {
		/* a big request came and went: give the memory back */
		free(c->in);
		c->in = NULL;
		c->incap = 0;
	}
}

int conn_sweep(struct shim *sh)
{
	uint64_t now = now_ns(), next = 0;
	for (struct conn *c = sh->conns, *nx; c; c = nx) {
		nx = c->next;
		if (c->state != C_REQUEST)
			continue;
		if (c->deadline <= now) {
			conn_close(sh, c);
			continue;
		}
		if (!next || c->deadline < next)
			next = c->deadline;
	}
	int ms = next ? (int)((next - now) / 1000000ull) + 1 : -1;
	int exits = exit_sweep(sh);
	return exits >= 0 && (ms < 0 || exits < ms) ? exits : ms;
}
