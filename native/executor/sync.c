/* The sync socket between the front and the container process: one framed
 * message per SOCK_SEQPACKET datagram, so a message is never split and an
 * fd (the pty master) travels with the message that announces it. */
#include "executor.h"

#include <berth/fdpass.h>
#include <berth/wire.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SYNC_MAX 8192

int sync_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

int send_with_fd(int sock, const void *data, size_t len, int fd)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	union fd_cmsg u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0)
		fd_cmsg_put(&mh, &u, fd);
	ssize_t r;
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

int sync_send(int sock, struct wbuf *b, int fd)
{
	if (wbuf_finish(b) < 0)
		return -1;
	return send_with_fd(sock, b->data, b->len, fd);
}

int sync_recv(int sock, struct wmsg *m, int *fd)
{
	uint8_t buf[SYNC_MAX];
	union fd_cmsg u;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	fd_cmsg_room(&mh, &u);
	ssize_t r;
	*fd = -1;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	*fd = fd_cmsg_get(&mh);
	if (r == 0)
		return 1;
	if ((mh.msg_flags & MSG_TRUNC) || wire_parse(buf, (size_t)r, m) < 0) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	return 0;
}

void wbuf_failed(struct wbuf *b, const struct failure *f)
{
	wbuf_init(b, BERTH_MSG_FAILED);
	wbuf_rec(b, BERTH_REC_STEP);
	wbuf_str(b, f->step);
	wbuf_rec(b, BERTH_REC_ERRNO);
	wbuf_u32(b, (uint32_t)f->err);
	wbuf_rec(b, BERTH_REC_MESSAGE);
	wbuf_str(b, f->msg);
}

int sync_send_failed(int sock, const struct failure *f)
{
	struct wbuf b;
	wbuf_failed(&b, f);
	int r = sync_send(sock, &b, -1);
	wbuf_free(&b);
	return r;
}

static void copy_str(const struct wmsg *m, uint16_t tag, char *dst, size_t n)
{
	struct wrec r;
	if (!wire_find(m, tag, &r))
		return;
	struct wcur c;
	wcur_init(&c, &r);
	char *s = wcur_str(&c);
	if (s && !c.bad) {
		strncpy(dst, s, n - 1);
		dst[n - 1] = 0;
	}
	free(s);
}

void sync_read_failed(const struct wmsg *m, struct failure *f)
{
	memset(f, 0, sizeof *f);
	strcpy(f->step, "set-up");
	copy_str(m, BERTH_REC_STEP, f->step, sizeof f->step);
	copy_str(m, BERTH_REC_MESSAGE, f->msg, sizeof f->msg);
	struct wrec r;
	if (wire_find(m, BERTH_REC_ERRNO, &r)) {
		struct wcur c;
		wcur_init(&c, &r);
		f->err = (int)wcur_u32(&c);
	}
}
