/* getdents and getdents64, done by the supervisor on the caller's own open
 * file (pidfd_getfd shares its file description, so the directory offset
 * moves for the caller as it would have). A listing of procfs's root leaves
 * out the pids pid_hidden names: a container sharing the host's pid
 * namespace sees its own processes in `ls /proc` and `ps`, not the host's.
 * The policy sends these calls here only for such containers (a pid
 * namespace of its own is filtered by the kernel already), so the others
 * pay nothing. The caller's fd number is resolved once, by pidfd_getfd:
 * swapping another directory onto it afterwards changes nothing. */
#include "supervisor.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#define PROC_ROOT_INO 1

/* Where the name starts in a record: linux_dirent64 (ino, off, reclen,
 * type, name) or the older linux_dirent (ino, off, reclen, name). */
static size_t name_at(int wide)
{
	return wide ? 19 : 2 * sizeof(unsigned long) + 2;
}

static int all_digits(const char *p, size_t max)
{
	size_t i = 0;
	for (; i < max && p[i]; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return i > 0;
}

/* The records of buf[0..len) the caller may see, compacted in place; their length. */
static size_t keep_visible(struct sup *s, const struct pid_view *v, char *buf, size_t len, int wide)
{
	size_t out = 0, at = name_at(wide);
	for (size_t p = 0; p + at < len;) {
		uint16_t reclen;
		memcpy(&reclen, buf + p + 2 * 8, sizeof reclen);
		if (reclen <= at || p + reclen > len)
			break;
		const char *name = buf + p + at;
		if (!all_digits(name, reclen - at) || !pid_hidden(s, v, strtol(name, NULL, 10))) {
			if (out != p)
				memmove(buf + out, buf + p, reclen);
			out += reclen;
		}
		p += reclen;
	}
	return out;
}

static int procfs_root(int fd)
{
	struct statfs sf;
	struct stat st;
	return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC && fstat(fd, &st) == 0 && st.st_ino == PROC_ROOT_INO;
}

/* The caller's descriptor as a descriptor of ours on the same open file. */
static int callers_file(pid_t tgid, int fd)
{
	int pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
	if (pidfd < 0)
		return -ESRCH;
	int ours = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	int err = errno;
	close(pidfd);
	return ours >= 0 ? ours : err == EBADF ? -EBADF : -err;
}

int handle_getdents(struct sup *s, const struct seccomp_notif *n, struct seccomp_notif_resp *resp)
{
	static char buf[64 * 1024];
	static struct pid_view v;
	const struct rule *r = &s->rules[n->data.nr];
	int wide = r->name && !strcmp(r->name, "getdents64");
	int fd = (int)n->data.args[0];
	uint64_t addr = n->data.args[1];
	size_t count = (unsigned int)n->data.args[2];
	struct creds c;
	if (creds_read(s, n->pid, &c) < 0 || pid_view_of(s, n->pid, &v) < 0) {
		resp->error = -ESRCH;
		return 0;
	}
	int ours = callers_file(c.tgid, fd);
	/* the descriptor was taken while the caller still waited: it is its own */
	if (ours >= 0 && !notif_valid(s->listener, n->id)) {
		close(ours);
		return 0;
	}
	if (ours < 0) {
		resp->error = ours;
		return 0;
	}
	int filter = procfs_root(ours);
#ifdef SYS_getdents
	long nr = wide ? SYS_getdents64 : SYS_getdents;
#else
	long nr = SYS_getdents64; /* no older call on this architecture: only getdents64 gets here */
#endif
	long got;
	size_t keep = 0;
	do {
		got = syscall(nr, ours, buf, count < sizeof buf ? count : sizeof buf);
		if (got <= 0)
			break;
		keep = filter ? keep_visible(s, &v, buf, (size_t)got, wide) : (size_t)got;
		/* nothing left of this batch: the next, as the caller would otherwise think the listing ended */
	} while (keep == 0);
	int err = errno;
	close(ours);
	if (got < 0) {
		resp->error = -err;
		return 0;
	}
	if (got > 0 && mem_write(n->pid, addr, buf, keep) < 0) {
		resp->error = -EFAULT;
		return 0;
	}
	resp->val = got > 0 ? (int64_t)keep : 0;
	return 0;
}
