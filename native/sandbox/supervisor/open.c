/* The open family, passed through safely: the supervisor copies the path
 * (and openat2's struct open_how) out of the caller once, checks the
 * notification still stands, then opens that copy itself — chrooted into
 * the caller's root, from the caller's working directory or dirfd, with the
 * caller's credentials — and injects the descriptor it got with
 * SECCOMP_IOCTL_NOTIF_ADDFD | SECCOMP_ADDFD_FLAG_SEND. What the caller
 * changes in its memory afterwards no longer matters: there is no
 * time-of-check/time-of-use gap. Because the supervisor holds the opened
 * file, it can see what it is (a /proc file, a fifo) and answer with the
 * container's view instead.
 *
 * Why chroot rather than openat2(RESOLVE_IN_ROOT): a relative path from the
 * caller's cwd must stop at the caller's root on "..", and absolute
 * symlinks must land in it; chroot gives exactly the kernel's own semantics
 * for both, including magic links under the container's /proc, which
 * RESOLVE_IN_ROOT refuses (EXDEV).
 *
 * CONTINUE (the kernel opens the caller's own buffer) is used where the
 * supervisor cannot stand in for the caller, and each case is safe because
 * the supervisor decides nothing there — the kernel then applies the
 * caller's own root, credentials and namespaces, so a path swapped in after
 * the check reaches only what the caller could reach without the sandbox
 * (it can skip an emulated /proc view, nothing more):
 *  - paths naming the caller itself (/proc/self/…, /proc/thread-self/…,
 *    /dev/fd/…, /dev/std…): "self" would be the supervisor;
 *  - fifos: opening one blocks until the other end opens, and a blocked
 *    supervisor would stall every call of the container. */
#include "supervisor.h"

#include <berth/wire.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#ifndef SYSFS_MAGIC
#define SYSFS_MAGIC 0x62656572
#endif

#define VALID_OPEN (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | FASYNC | \
		    O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | __O_TMPFILE)

struct open_req {
	int dirfd;
	struct open_how how;
	int is_openat2;
	char path[PATH_MAX];
};

static int names_caller(const char *p)
{
	static const char *const prefixes[] = { "/proc/self/", "/proc/thread-self/", "/dev/fd/", "/dev/std", NULL };
	if (!strcmp(p, "/proc/self") || !strcmp(p, "/proc/thread-self"))
		return 1;
	for (int i = 0; prefixes[i]; i++)
		if (!strncmp(p, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

/* Decodes the call's arguments (x86_64 and aarch64 numbers via the table's names). */
static int read_request(struct sup *s, const struct seccomp_notif *n, struct open_req *q)
{
	const char *name = s->rules[n->data.nr].name;
	const __u64 *a = n->data.args;
	uint64_t path_addr;
	memset(&q->how, 0, sizeof q->how);
	q->is_openat2 = 0;
	q->dirfd = AT_FDCWD;
	if (!strcmp(name, "open")) {
		path_addr = a[0];
		q->how.flags = (uint32_t)a[1];
		q->how.mode = (uint32_t)a[2];
	} else if (!strcmp(name, "creat")) {
		path_addr = a[0];
		q->how.flags = O_CREAT | O_WRONLY | O_TRUNC;
		q->how.mode = (uint32_t)a[1];
	} else if (!strcmp(name, "openat")) {
		q->dirfd = (int)a[0];
		path_addr = a[1];
		q->how.flags = (uint32_t)a[2];
		q->how.mode = (uint32_t)a[3];
	} else if (!strcmp(name, "openat2")) {
		q->dirfd = (int)a[0];
		path_addr = a[1];
		q->is_openat2 = 1;
		if (a[3] < 24) /* OPEN_HOW_SIZE_VER0 */
			return -EINVAL;
		if (a[3] > 4096)
			return -E2BIG;
		uint8_t raw[4096];
		int r = mem_read(n->pid, a[2], raw, (size_t)a[3]);
		if (r < 0)
			return r;
		for (size_t i = sizeof q->how; i < a[3]; i++)
			if (raw[i])
				return -E2BIG;
		memcpy(&q->how, raw, a[3] < sizeof q->how ? a[3] : sizeof q->how);
	} else {
		return -ENOSYS;
	}
	int r = mem_read_str(n->pid, path_addr, q->path, sizeof q->path);
	if (r < 0)
		return r;
	/* open/openat ignore what openat2 refuses: do as the kernel's build_open_how */
	if (!q->is_openat2) {
		q->how.flags &= VALID_OPEN;
		if (!(q->how.flags & O_CREAT) && (q->how.flags & O_TMPFILE) != O_TMPFILE)
			q->how.mode = 0;
		q->how.mode &= 07777;
		if (q->how.flags & O_PATH)
			q->how.flags &= O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC;
	}
	return 0;
}

/* fds for the caller's root and its starting directory, from the host's /proc */
static int caller_dirs(struct sup *s, pid_t pid, const struct open_req *q, int *root, int *base)
{
	char p[64];
	snprintf(p, sizeof p, "%d/root", pid);
	*root = openat(s->hostproc, p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*root < 0)
		return -ESRCH;
	*base = -1;
	if (q->path[0] == '/')
		return 0;
	if (q->dirfd == AT_FDCWD)
		snprintf(p, sizeof p, "%d/cwd", pid);
	else
		snprintf(p, sizeof p, "%d/fd/%d", pid, q->dirfd);
	*base = openat(s->hostproc, p, O_PATH | O_CLOEXEC);
	if (*base < 0)
		return q->dirfd == AT_FDCWD ? -ESRCH : -EBADF;
	struct stat st;
	if (fstat(*base, &st) == 0 && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

struct opened {
	int fd;
	int err;
	char where[PATH_MAX]; /* the file as the container names it; "" when no rule needs it */
	long fstype;
	int scoped; /* resolved with RESOLVE_IN_ROOT: cannot have left the caller's mounts */
};

/* Inside the caller's root, as the caller: the open itself. */
/* Absolute paths: openat2(RESOLVE_IN_ROOT) from the caller's root, no
 * chroot needed; the kernel refuses magic links there (EXDEV), and those
 * take the chroot path. Nothing resolved this way can leave the caller's
 * mount tree: no "..", no absolute symlink and no magic link gets out. */
static int open_scoped(int root, const struct open_req *q, struct open_how how)
{
	if (q->path[0] != '/' || (q->how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)))
		return -EXDEV;
	how.resolve |= RESOLVE_IN_ROOT;
	int fd = (int)syscall(SYS_openat2, root, q->path, &how, sizeof how);
	return fd >= 0 ? fd : -errno;
}

/* Relative paths (and magic links): chrooted into the caller's root, from its cwd or dirfd. */
static int open_chrooted(struct sup *s, int root, int base, const struct open_req *q, const struct open_how *how, const struct creds *c)
{
	if (fchdir(root) < 0 || chroot(".") < 0)
		return -errno;
	int fd = creds_enter(c);
	if (fd == 0) {
		fd = (int)syscall(SYS_openat2, base >= 0 ? base : AT_FDCWD, q->path, how, sizeof *how);
		if (fd < 0)
			fd = -errno;
	}
	creds_leave();
	/* back to the host's root: we are root with CAP_SYS_CHROOT again */
	if (fchdir(s->hostroot) < 0 || chroot(".") < 0) {
		audit_error(s, "cannot leave the container's root: %s", strerror(errno));
		_exit(1);
	}
	return fd;
}

/* The open itself, in the caller's root, as the caller. */
static void open_as_caller(struct sup *s, int root, int base, const struct creds *c, const struct open_req *q, struct opened *o)
{
	/* O_NONBLOCK: a fifo or a device must not block the supervisor; cleared below */
	struct open_how how = q->how;
	if (!(how.flags & O_PATH))
		how.flags |= O_NONBLOCK | O_NOCTTY;
	how.flags |= O_CLOEXEC;
	int fd = -EXDEV;
	o->scoped = 0;
	if (q->path[0] == '/') {
		int r = creds_enter(c);
		fd = r < 0 ? r : open_scoped(root, q, how);
		creds_leave();
		o->scoped = fd != -EXDEV;
	}
	if (fd == -EXDEV && !o->scoped)
		fd = open_chrooted(s, root, base, q, &how, c);
	o->fd = fd >= 0 ? fd : -1;
	o->err = fd >= 0 ? 0 : -fd;
	o->where[0] = 0;
	o->fstype = 0;
	if (o->fd < 0)
		return;
	struct statfs sfs;
	if (fstatfs(o->fd, &sfs) == 0)
		o->fstype = (long)sfs.f_type;
	/* the name inside the container: d_path from the host's root stops at
	 * the container's mount namespace root, which pivot_root made its "/" */
	if (s->paths_anywhere || o->fstype == PROC_SUPER_MAGIC || o->fstype == SYSFS_MAGIC) {
		char link[64];
		snprintf(link, sizeof link, "self/fd/%d", o->fd);
		ssize_t n = readlinkat(s->hostproc, link, o->where, sizeof o->where - 1);
		o->where[n > 0 ? n : 0] = 0;
	}
}

static int is_write(const struct open_req *q)
{
	return (q->how.flags & O_ACCMODE) != O_RDONLY || (q->how.flags & (O_CREAT | O_TRUNC)) || (q->how.flags & O_TMPFILE) == O_TMPFILE;
}

/* SANDBOX_PATH rules, on the file actually opened: no spelling of the path reaches around them */
static int refused_path(struct sup *s, const struct open_req *q, const char *where)
{
	for (int i = 0; i < s->npaths; i++) {
		const struct path_rule *r = &s->paths[i];
		int under = !strncmp(where, r->prefix, r->len) && (where[r->len] == 0 || where[r->len] == '/' || r->len == 1);
		if (under && (r->deny == BERTH_SANDBOX_DENY_OPEN || (r->deny == BERTH_SANDBOX_DENY_WRITE && is_write(q))))
			return r->err ? r->err : EPERM;
	}
	return 0;
}

static int mount_id_of(struct sup *s, int fd)
{
	char p[64], buf[512];
	snprintf(p, sizeof p, "self/fdinfo/%d", fd);
	int f = openat(s->hostproc, p, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	ssize_t n = read(f, buf, sizeof buf - 1);
	close(f);
	buf[n > 0 ? n : 0] = 0;
	char *m = strstr(buf, "mnt_id:");
	return m ? atoi(m + 7) : -1;
}

static void load_mounts(struct sup *s, pid_t pid, unsigned long ns)
{
	static char buf[1 << 20];
	char p[64];
	snprintf(p, sizeof p, "%d/mountinfo", pid);
	s->mounts.ns = ns;
	s->mounts.n = 0;
	int f = openat(s->hostproc, p, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return;
	size_t len = 0;
	ssize_t r;
	while (len < sizeof buf - 1 && (r = read(f, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)r;
	close(f);
	buf[len] = 0;
	for (char *l = buf; *l && s->mounts.n < MAX_MOUNTS;) {
		s->mounts.ids[s->mounts.n++] = atoi(l);
		char *nl = strchr(l, '\n');
		if (!nl)
			break;
		l = nl + 1;
	}
}

static int listed(const struct mounts *m, int id)
{
	for (int i = 0; i < m->n; i++)
		if (m->ids[i] == id)
			return 1;
	return 0;
}

/* Kernel-internal mounts (pipes, sockets, memfds, namespaces …) are in no
 * mountinfo: a process's own such files are reopened through /proc/<pid>/fd. */
static int internal_file(long fstype, const char *where)
{
	switch ((unsigned long)fstype) {
	case 0x50495045: /* pipefs */
	case 0x534f434b: /* sockfs */
	case 0x09041934: /* anon_inodefs */
	case 0x6e736673: /* nsfs */
	case 0x50494446: /* pidfs */
		return 1;
	}
	return !strncmp(where, "/memfd:", 7) || !strncmp(where, "/SYSV", 5) || !strncmp(where, "/dev/zero", 9) ||
	       !strncmp(where, "anon_inode:", 11);
}

/* Every file the supervisor hands over lives in one of the caller's own
 * mounts. A path through another process's /proc/<pid>/root (a host pid
 * namespace, or a /proc mounted from elsewhere) would otherwise reach the
 * host's files: the magic link leaves any root. */
static int inside_container(struct sup *s, pid_t pid, int fd, long fstype, char *where)
{
	if (!where[0]) {
		char link[64];
		snprintf(link, sizeof link, "self/fd/%d", fd);
		ssize_t n = readlinkat(s->hostproc, link, where, PATH_MAX - 1);
		where[n > 0 ? n : 0] = 0;
	}
	if (internal_file(fstype, where))
		return 1;
	char p[64];
	struct stat st;
	snprintf(p, sizeof p, "%d/ns/mnt", pid);
	if (fstatat(s->hostproc, p, &st, 0) < 0)
		return 0;
	int id = mount_id_of(s, fd);
	if (id < 0)
		return 0;
	if (s->mounts.ns == (unsigned long)st.st_ino && listed(&s->mounts, id))
		return 1;
	load_mounts(s, pid, (unsigned long)st.st_ino);
	return listed(&s->mounts, id);
}

static int inject(struct sup *s, const struct seccomp_notif *n, int fd, int cloexec)
{
	struct seccomp_notif_addfd a = {
		.id = n->id,
		.flags = SECCOMP_ADDFD_FLAG_SEND,
		.srcfd = (uint32_t)fd,
		.newfd = 0,
		.newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	int r = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	if (r < 0 && errno != ENOENT)
		audit_error(s, "inject a descriptor into %u: %s", n->pid, strerror(errno));
	return 1;
}

int handle_open(struct sup *s, const struct seccomp_notif *n, struct seccomp_notif_resp *resp)
{
	static struct open_req q;
	static struct opened o;
	int r = read_request(s, n, &q);
	if (r < 0) {
		resp->error = r;
		return 0;
	}
	if (!q.path[0]) {
		resp->error = -ENOENT;
		return 0;
	}
	if (names_caller(q.path)) {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return 0;
	}
	struct creds c;
	int root = -1, base = -1;
	r = creds_read(s, n->pid, &c);
	if (r == 0)
		r = caller_dirs(s, n->pid, &q, &root, &base);
	/* the fds above were opened while the caller still waited: they are its own */
	if (!notif_valid(s->listener, n->id))
		r = -ENOENT;
	if (r == 0)
		open_as_caller(s, root, base, &c, &q, &o);
	if (root >= 0)
		close(root);
	if (base >= 0)
		close(base);
	if (r < 0) {
		resp->error = r;
		return 0;
	}
	if (o.fd < 0) {
		resp->error = -o.err;
		return 0;
	}
	int fd = o.fd;
	const char *why = NULL;
	int err = refused_path(s, &q, o.where);
	if (err)
		why = "policy path";
	else if (!o.scoped && !inside_container(s, n->pid, fd, o.fstype, o.where))
		why = "outside the container's mounts", err = EPERM;
	if (why) {
		close(fd);
		audit_path(s, n, s->rules[n->data.nr].name, o.where, why, err);
		resp->error = -err;
		return 0;
	}
	struct stat st;
	if (!(q.how.flags & O_PATH) && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
		close(fd);
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return 0;
	}
	if (o.fstype == PROC_SUPER_MAGIC) {
		int err = 0;
		int view = proc_view(s, n->pid, o.where, &err);
		if (view == -2) {
			close(fd);
			resp->error = -err;
			return 0;
		}
		if (view >= 0) {
			close(fd);
			fd = view;
		}
	}
	/* F_SETFL sets exactly the changeable status flags: the caller's, without our O_NONBLOCK */
	if (!(q.how.flags & (O_NONBLOCK | O_PATH)) && fd == o.fd)
		fcntl(fd, F_SETFL, (int)(q.how.flags & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME)));
	int replied = inject(s, n, fd, (q.how.flags & O_CLOEXEC) != 0);
	close(fd);
	return replied;
}
