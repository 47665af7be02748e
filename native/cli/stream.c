/* A container's output stream, copied by the front itself: the zygote hands
 * over an attach connection (after its HTTP head) and the front writes what
 * comes to its own stdout and stderr until the end, demultiplexing the
 * Engine API's stream (8-byte frame headers: the stream, three zero bytes,
 * the payload's size big-endian) or copying raw bytes (a TTY). Node read
 * the same stream at about twice the CPU per byte, and a `run` attached to
 * a chatty container shares its cores with the container and its shim. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli.h"

#define READ_BYTES (256 << 10)
#define HEADER 8
/* Pieces gathered for one writev: a read of 32 KiB frames has ~16. */
#define MAX_IOV 64

struct out {
	int fd; /* where the gathered pieces go */
	struct iovec iov[MAX_IOV];
	int n;
};

/* Waits until fd is ready for events (POLLIN or POLLOUT): the connection
 * was Node's, non-blocking, and our stdout may be a non-blocking pipe the
 * zygote shares. */
static void await_ready(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

/* Writes the gathered pieces; -1 when the output is gone. */
static int flush_out(struct out *o)
{
	struct iovec *v = o->iov;
	int n = o->n;
	o->n = 0;
	while (n > 0) {
		ssize_t w = writev(o->fd, v, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			await_ready(o->fd, POLLOUT);
			continue;
		}
		if (w < 0)
			return -1;
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Adds a piece for fd, writing what was gathered for the other one first. */
static int gather(struct out *o, int fd, const char *p, size_t len)
{
	if ((o->fd != fd && o->n > 0) || o->n == MAX_IOV) {
		if (flush_out(o) < 0)
			return -1;
	}
	o->fd = fd;
	o->iov[o->n++] = (struct iovec){ .iov_base = (void *)p, .iov_len = len };
	return 0;
}

int copy_stream(int in, int multiplexed, int *bad_stream)
{
	static char buf[READ_BYTES];
	uint8_t head[HEADER];
	size_t head_len = 0, left = 0;
	int to = 1;
	struct out o = { .fd = 1 };
	*bad_stream = -1;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			await_ready(in, POLLIN);
			continue;
		}
		if (n <= 0)
			return 0; /* the end, or the connection broke: the zygote's wait says the rest */
		if (!multiplexed) {
			if (gather(&o, 1, buf, (size_t)n) < 0 || flush_out(&o) < 0)
				return -1;
			continue;
		}
		size_t at = 0;
		while (at < (size_t)n) {
			if (left == 0) {
				size_t k = HEADER - head_len < (size_t)n - at ? HEADER - head_len : (size_t)n - at;
				memcpy(head + head_len, buf + at, k);
				head_len += k;
				at += k;
				if (head_len < HEADER)
					break;
				head_len = 0;
				if (head[0] > 3) {
					*bad_stream = head[0];
					return flush_out(&o) < 0 ? -1 : 0;
				}
				/* 2 stderr, 3 an error of the daemon: to stderr; 0 and 1 to stdout */
				to = head[0] >= 2 ? 2 : 1;
				left = (size_t)head[4] << 24 | (size_t)head[5] << 16 | (size_t)head[6] << 8 | head[7];
				continue;
			}
			size_t k = left < (size_t)n - at ? left : (size_t)n - at;
			if (gather(&o, to, buf + at, k) < 0)
				return -1;
			at += k;
			left -= k;
		}
		/* the buffer is read into again: what points into it goes out now */
		if (flush_out(&o) < 0)
			return -1;
	}
}
