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
	/* an empty message still needs one byte to carry the fd */
	size_t len = strlen(data);
	int r = send_with_fd(s, len ? data : "", len ? len : 1, fd);
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
