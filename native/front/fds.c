/* Small fd helpers of the front. */
#include "front.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int fd_high(int fd)
{
	if (fd < 0 || fd >= FRONT_FD_BASE)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, FRONT_FD_BASE);
	if (hi < 0)
		return fd;
	close(fd);
	return hi;
}

int write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
