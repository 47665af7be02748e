/* The target's memory. Reads happen before the notification is checked
 * (SECCOMP_IOCTL_NOTIF_ID_VALID), so what was read belongs to the thread
 * that still waits in the call; what the supervisor then acts on is its own
 * copy, which the target cannot change any more. */
#include "supervisor.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

int mem_read(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec local = { .iov_base = buf, .iov_len = n };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = n };
	ssize_t r = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (r < 0)
		return -errno;
	return r == (ssize_t)n ? 0 : -EFAULT;
}

int mem_write(pid_t pid, uint64_t addr, const void *buf, size_t n)
{
	struct iovec local = { .iov_base = (void *)buf, .iov_len = n };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = n };
	ssize_t r = process_vm_writev(pid, &local, 1, &remote, 1, 0);
	if (r < 0)
		return -errno;
	return r == (ssize_t)n ? 0 : -EFAULT;
}

/* Page by page: a string may end just before an unmapped page. */
int mem_read_str(pid_t pid, uint64_t addr, char *buf, size_t max)
{
	size_t got = 0;
	while (got < max - 1) {
		size_t page_left = 4096 - ((addr + got) & 4095);
		size_t want = max - 1 - got < page_left ? max - 1 - got : page_left;
		int r = mem_read(pid, addr + got, buf + got, want);
		if (r < 0)
			return r;
		char *nul = memchr(buf + got, 0, want);
		if (nul)
			return 0;
		got += want;
	}
	return -ENAMETOOLONG;
}

int notif_valid(int listener, uint64_t id)
{
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}
