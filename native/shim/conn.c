/* Client connections, all non-blocking in the one epoll loop: a client that
 * connects and says nothing or a WAIT parked for minutes never holds up the
 * container, its log or other clients. An attacher that reads slowly slows
 * the output of its process (attach.c), and nothing else. */
#include "internal.h"
#include "../executor/wire.h"
#include <berth/shim.h>

#include <errno.h>
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
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (c->outlen ? EPOLLOUT : 0), .data.ptr = c };
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
	c->state = C_REQUEST;
	c->deadline = now_ns() + REQUEST_TIMEOUT_NS;
	c->next = sh->conns;
	sh->conns = c;
	watch(sh, c, EPOLL_CTL_ADD);
}

void conn_close(struct shim *sh, struct conn *c)
{
	if (c->kind != EV_CONN)
		return;
	struct proc *held = c->state == C_ATTACH ? c->p : NULL;
	for (struct conn **pp = &sh->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	epoll_ctl(sh->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->kind = EV_DEAD;
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
	if (c->state == C_ATTACH && c->outlen <= ATTACH_LOW_WATER)
		attach_resume(sh, c->p);
	return c->kind == EV_CONN ? 0 : -1;
}

void conn_send(struct shim *sh, struct conn *c, struct wbuf *b)
{
	if (c->kind != EV_CONN || wbuf_finish(b) < 0)
		return;
	if (c->outlen + b->len > MAX_BACKLOG) {
		shim_log("dropping an attacher of %s that does not read its output", c->p && *c->p->id ? c->p->id : sh->o.id);
		conn_close(sh, c);
		return;
	}
	uint8_t *q = realloc(c->out, c->outlen + b->len);
	if (!q) {
		conn_close(sh, c);
		return;
	}
	memcpy(q + c->outlen, b->data, b->len);
	c->out = q;
	c->outlen += b->len;
	flush(sh, c);
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

void conn_event(struct shim *sh, struct conn *c, uint32_t events)
{
	if ((events & EPOLLOUT) && flush(sh, c) < 0)
		return;
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
		ssize_t r = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
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
