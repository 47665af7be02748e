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

/* "NSpid:\t4711\t12": the last number of the line (the innermost namespace's) */
static pid_t last_number(const char *p)
{
	long v = -1;
	while (p && *p && *p != '\n') {
		char *end;
		long x = strtol(p, &end, 10);
		if (end == p)
			break;
		v = x;
		p = end;
	}
	return (pid_t)v;
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
	c->tgid = last_number(field(buf, "\nTgid:"));
	c->ns_tgid = last_number(field(buf, "\nNStgid:"));
	c->ns_pid = last_number(field(buf, "\nNSpid:"));
	/* every process of one listener shares one user namespace (new ones are refused) */
	c->same_userns = s->same_userns;
	return 0;
}

/* What this thread has applied, so that a switch costs only the calls that
 * change something (a root caller with all its capabilities costs none). */
static struct {
	int ready;
	uint32_t perm[2];
	uid_t fsuid;
	gid_t fsgid;
	int ngroups;
	uint64_t eff;
	mode_t umask;
} cur;

static void init_cur(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	syscall(SYS_capget, &h, d);
	cur.perm[0] = d[0].permitted;
	cur.perm[1] = d[1].permitted;
	cur.eff = ((uint64_t)d[1].effective << 32) | d[0].effective;
	cur.umask = umask(022);
	umask(022);
	cur.umask = 022;
	cur.ready = 1;
}

static int capset_eff(uint64_t eff)
{
	uint64_t perm = ((uint64_t)cur.perm[1] << 32) | cur.perm[0];
	eff &= perm;
	if (eff == cur.eff)
		return 0;
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)eff, .permitted = cur.perm[0], .inheritable = 0 },
		{ .effective = (uint32_t)(eff >> 32), .permitted = cur.perm[1], .inheritable = 0 },
	};
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	cur.eff = eff;
	return 0;
}

int creds_enter(const struct creds *c)
{
	if (!cur.ready)
		init_cur();
	/* groups and gid first: after the uid switch the capability to change them is gone */
	if ((c->ngroups || cur.ngroups) && syscall(SYS_setgroups, c->ngroups, c->groups) < 0)
		return -errno;
	cur.ngroups = c->ngroups;
	if (c->fsgid != cur.fsgid)
		syscall(SYS_setfsgid, c->fsgid);
	cur.fsgid = c->fsgid;
	if (c->fsuid != cur.fsuid) {
		syscall(SYS_setfsuid, c->fsuid);
		/* a non-zero fsuid drops the filesystem capabilities from the effective set */
		cur.eff = ~0ULL;
	}
	cur.fsuid = c->fsuid;
	if (capset_eff(c->same_userns ? c->cap_eff : 0) < 0)
		return -errno;
	if ((c->umask & 0777) != cur.umask)
		umask(c->umask & 0777);
	cur.umask = c->umask & 0777;
	return 0;
}

void creds_leave(void)
{
	if (cur.fsuid != 0)
		syscall(SYS_setfsuid, 0);
	if (cur.fsgid != 0)
		syscall(SYS_setfsgid, 0);
	if (cur.fsuid != 0)
		cur.eff = 0; /* unknown after the switch back: capset below sets it for sure */
	cur.fsuid = 0;
	cur.fsgid = 0;
	capset_eff(~0ULL);
	if (cur.ngroups)
		syscall(SYS_setgroups, 0, NULL);
	cur.ngroups = 0;
	if (cur.umask != 022)
		umask(022);
	cur.umask = 022;
}
