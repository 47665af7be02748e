/* Opening a file for the caller with the caller's rights: the supervisor is
 * host root with every capability, so before it opens anything it takes the
 * caller's filesystem uid and gid, groups, umask and effective
 * capabilities (all as /proc/<pid>/status shows them to the host) — in this
 * thread only (raw syscalls: glibc's wrappers would change every thread,
 * and there is one thread anyway). A caller in another user namespace gets
 * no capabilities here: its capabilities mean nothing outside that
 * namespace. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *field(const char *text, const char *name)
{
	const char *p = strstr(text, name);
	return p ? p + strlen(name) : NULL;
}

/* "Uid:\treal\teffective\tsaved\tfs": the fourth number */
static long fourth(const char *p)
{
	long v = -1;
	for (int i = 0; i < 4 && p; i++) {
		char *end;
		v = strtol(p, &end, 10);
		p = end;
	}
	return v;
}

static unsigned long ns_inode(int dirfd, const char *path)
{
	struct stat st;
	return fstatat(dirfd, path, &st, 0) == 0 ? (unsigned long)st.st_ino : 0;
}

int creds_read(struct sup *s, pid_t pid, struct creds *c)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "%d/status", pid);
	int fd = openat(s->hostproc, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	const char *um = field(buf, "\nUmask:"), *uid = field(buf, "\nUid:"), *gid = field(buf, "\nGid:");
	const char *groups = field(buf, "\nGroups:"), *cap = field(buf, "\nCapEff:");
	if (!uid || !gid || !cap)
		return -ESRCH;
	c->umask = um ? (mode_t)strtol(um, NULL, 8) : 022;
	c->fsuid = (uid_t)fourth(uid);
	c->fsgid = (gid_t)fourth(gid);
	c->cap_eff = strtoull(cap, NULL, 16);
	c->ngroups = 0;
	for (const char *p = groups; p && *p && *p != '\n' && c->ngroups < 64;) {
		char *end;
		long g = strtol(p, &end, 10);
		if (end == p)
			break;
		c->groups[c->ngroups++] = (gid_t)g;
		p = end;
	}
	snprintf(path, sizeof path, "%d/ns/user", pid);
	c->same_userns = ns_inode(s->hostproc, path) == s->userns;
	return 0;
}

static int capset_eff(uint64_t eff)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[0].effective = (uint32_t)eff & d[0].permitted;
	d[1].effective = (uint32_t)(eff >> 32) & d[1].permitted;
	return (int)syscall(SYS_capset, &h, d);
}

int creds_enter(const struct creds *c)
{
	/* groups and gid first: after the uid switch the capability to change them is gone */
	if (syscall(SYS_setgroups, c->ngroups, c->groups) < 0)
		return -errno;
	syscall(SYS_setfsgid, c->fsgid);
	syscall(SYS_setfsuid, c->fsuid);
	if (capset_eff(c->same_userns ? c->cap_eff : 0) < 0)
		return -errno;
	umask(c->umask & 0777);
	return 0;
}

void creds_leave(void)
{
	syscall(SYS_setfsuid, 0);
	syscall(SYS_setfsgid, 0);
	capset_eff(~0ULL);
	syscall(SYS_setgroups, 0, NULL);
	umask(022);
}
