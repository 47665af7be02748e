/* Handing fds to other processes over unix sockets: the pty master to a
 * --console-socket (as runc does: the message data is the slave's name) and
 * a seccomp listener to its agent. */
#include "front.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int send_fd_to(const char *path, int fd, const char *data, const char *what, struct failure *f)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path)
		return fail(f, ENAMETOOLONG, what, "%s: path too long", path);
	strcpy(addr.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int err = errno;
		if (s >= 0)
			close(s);
		return fail(f, err, what, "connect %s: %s", path, strerror(err));
	}
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct iovec iov = { .iov_base = (void *)data, .iov_len = strlen(data) ? strlen(data) : 1 };
	if (!*data)
		iov.iov_base = (void *)"\0";
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	ssize_t r;
	do
		r = sendmsg(s, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	int err = errno;
	close(s);
	return r < 0 ? fail(f, err, what, "send to %s: %s", path, strerror(err)) : 0;
}

int console_send(const char *path, int master, const char *name, struct failure *f)
{
	return send_fd_to(path, master, name, "console socket", f);
}

int listener_send(const char *path, int fd, const char *meta, struct failure *f)
{
	return send_fd_to(path, fd, meta, "seccomp listener", f);
}
