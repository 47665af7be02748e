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
 * The supervisor never answers an open with SECCOMP_USER_NOTIF_FLAG_CONTINUE:
 * the kernel would read the caller's buffer a second time, and a second
 * thread can swap another path in after the check (a privileged container
 * opened the host's core_pattern for writing that way). The two cases that
 * used to be continued are opened here too:
 *  - paths naming the caller itself (/proc/self/…, /proc/thread-self/…,
 *    /dev/fd/…, /dev/std…), where "self" would be the supervisor: its own
 *    descriptors, cwd, root and executable are taken from the host's
 *    /proc/<pid> (they are the caller's already) and reopened, or the rest
 *    of the path resolved from them, with the caller's credentials; other
 *    entries are opened as /proc/<its pid in its namespace>/…;
 *  - fifos, whose open blocks until the other end opens: a child of the
 *    supervisor waits in that open (with the caller's credentials, on the
 *    file the supervisor checked) and injects the descriptor, so the
 *    supervisor itself never blocks. */
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
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
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

/* A path naming the caller itself ("self" would be the supervisor). */
struct self_ref {
	int thread;       /* /proc/thread-self */
	const char *tail; /* after "/proc/self/" ("" for the directory itself) */
	char fdtail[PATH_MAX]; /* /dev/fd/N… and /dev/stdin…: the tail "fd/N…" */
};

static int self_path(const char *p, struct self_ref *r)
{
	static const char *const std[] = { "/dev/stdin", "/dev/stdout", "/dev/stderr" };
	r->thread = 0;
	for (int i = 0; i < 3; i++) {
		if (!strcmp(p, std[i])) {
			snprintf(r->fdtail, sizeof r->fdtail, "fd/%d", i);
			r->tail = r->fdtail;
			return 1;
		}
	}
	if (!strcmp(p, "/dev/fd") || !strncmp(p, "/dev/fd/", 8)) {
		/* the runtime makes /dev/fd a link to /proc/self/fd (runtime-spec) */
		snprintf(r->fdtail, sizeof r->fdtail, "fd%s", p + 7);
		r->tail = r->fdtail;
		return 1;
	}
	static const char *const dirs[] = { "/proc/self", "/proc/thread-self" };
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(dirs[i]);
		if (!strncmp(p, dirs[i], n) && (p[n] == 0 || p[n] == '/')) {
			r->thread = i;
			r->tail = p[n] ? p + n + 1 : "";
			return 1;
		}
	}
	return 0;
}

/* The caller's own magic links: "fd/N", "cwd", "root", "exe", each
 * followed by nothing or "/rest". Returns the length of the link part. */
static size_t own_link(const char *tail)
{
	static const char *const links[] = { "cwd", "root", "exe", NULL };
	if (!strncmp(tail, "fd/", 3) && tail[3] >= '0' && tail[3] <= '9') {
		size_t n = 3;
		while (tail[n] >= '0' && tail[n] <= '9')
			n++;
		return tail[n] == 0 || tail[n] == '/' ? n : 0;
	}
	for (int i = 0; links[i]; i++) {
		size_t n = strlen(links[i]);
		if (!strncmp(tail, links[i], n) && (tail[n] == 0 || tail[n] == '/'))
			return n;
	}
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
	int own;    /* one of the caller's own open files, reopened: it holds it already */
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

/* The flags of the supervisor's own open: a fifo or a device must not block
 * it (O_NONBLOCK is cleared again before the descriptor is handed over), no
 * terminal becomes its controlling one, nothing leaks into a child. */
static struct open_how own_how(const struct open_req *q)
{
	struct open_how how = q->how;
	if (!(how.flags & O_PATH))
		how.flags |= O_NONBLOCK | O_NOCTTY;
	how.flags |= O_CLOEXEC;
	return how;
}

/* What was opened: its filesystem and, where a rule needs it, its name
 * inside the container (d_path from the host's root stops at the
 * container's mount namespace root, which pivot_root made its "/"). */
static void describe(struct sup *s, struct opened *o, int fd)
{
	o->fd = fd >= 0 ? fd : -1;
	o->err = fd >= 0 ? 0 : -fd;
	o->where[0] = 0;
	o->fstype = 0;
	if (o->fd < 0)
		return;
	struct statfs sfs;
	if (fstatfs(o->fd, &sfs) == 0)
		o->fstype = (long)sfs.f_type;
	if (s->paths_anywhere || o->fstype == PROC_SUPER_MAGIC || o->fstype == SYSFS_MAGIC) {
		char link[64];
		snprintf(link, sizeof link, "self/fd/%d", o->fd);
		ssize_t n = readlinkat(s->hostproc, link, o->where, sizeof o->where - 1);
		o->where[n > 0 ? n : 0] = 0;
	}
}

/* The open itself, in the caller's root, as the caller. */
static void open_as_caller(struct sup *s, int root, int base, const struct creds *c, const struct open_req *q, struct opened *o)
{
	struct open_how how = own_how(q);
	int fd = -EXDEV;
	o->scoped = o->own = 0;
	if (q->path[0] == '/') {
		int r = creds_enter(c);
		fd = r < 0 ? r : open_scoped(root, q, how);
		creds_leave();
		o->scoped = fd != -EXDEV;
	}
	if (fd == -EXDEV && !o->scoped)
		fd = open_chrooted(s, root, base, q, &how, c);
	describe(s, o, fd);
}

/* The caller's own descriptor, cwd, root or executable ("fd/N", "cwd",
 * "root", "exe" of tail, link characters long). The link is taken from the
 * host's /proc/<pid> as the supervisor: what it leads to is the caller's
 * already, as the kernel's own check for "self" says. With nothing after
 * it the file is reopened (the kernel's permission check on the file, with
 * the caller's credentials, and no mount check: the caller holds it);
 * otherwise the rest of the path is resolved from it as any relative path. */
static void open_own(struct sup *s, pid_t tid, int root, const struct creds *c, const struct self_ref *r, size_t link,
		     const struct open_req *q, struct opened *o)
{
	static struct open_req rest;
	char path[96];
	if (r->thread)
		snprintf(path, sizeof path, "%d/task/%d/%.*s", c->tgid, tid, (int)link, r->tail);
	else
		snprintf(path, sizeof path, "%d/%.*s", c->tgid, (int)link, r->tail);
	o->scoped = o->own = 0;
	int target = openat(s->hostproc, path, O_PATH | O_CLOEXEC);
	if (target < 0) {
		describe(s, o, -errno);
		return;
	}
	const char *after = r->tail + link;
	while (*after == '/')
		after++;
	struct open_how how = own_how(q);
	int fd;
	if (!*after) {
		char self[64];
		snprintf(self, sizeof self, "self/fd/%d", target);
		how.resolve = 0;
		fd = creds_enter(c);
		if (fd == 0) {
			fd = (int)syscall(SYS_openat2, s->hostproc, self, &how, sizeof how);
			if (fd < 0)
				fd = -errno;
		}
		creds_leave();
		o->own = 1;
	} else {
		rest = *q;
		snprintf(rest.path, sizeof rest.path, "%s", after);
		fd = open_chrooted(s, root, target, &rest, &how, c);
	}
	close(target);
	describe(s, o, fd);
}

/* Follows the links of an absolute path inside the caller's root, one
 * component at a time, as the caller, up to /proc/self or
 * /proc/thread-self: procfs's own /proc/mounts and /proc/net lead there,
 * and so do /etc/mtab and other links to them. The kernel resolves "self"
 * for the opener, and the supervisor has no pid in the container's procfs,
 * so such an open failed with ENOENT. Rewrites q->path to its /proc/self
 * form and returns 1 when the path leads there; 0 leaves q alone. Only the
 * spelling is computed here: the open that follows is checked as any. */
static int through_self(int root, const struct creds *c, struct open_req *q)
{
	static char todo[PATH_MAX], next[PATH_MAX], done[PATH_MAX], target[PATH_MAX];
	if (q->path[0] != '/' || q->how.resolve || (q->how.flags & O_NOFOLLOW))
		return 0;
	memcpy(todo, q->path, strlen(q->path) + 1);
	size_t dl = 0; /* done[0..dl): the resolved prefix, "" for the root, else "/a/b" */
	done[0] = 0;
	int links = 0, found = 0;
	const char *rest = "";
	if (creds_enter(c) != 0)
		goto out;
	for (char *p = todo; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 1 && p[0] == '.') {
			p = e;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (dl && done[dl - 1] != '/')
				dl--;
			if (dl)
				dl--;
			done[dl] = 0;
			p = e;
			continue;
		}
		if (dl + 1 + n >= sizeof done)
			break;
		done[dl] = '/';
		memcpy(done + dl + 1, p, n);
		done[dl + 1 + n] = 0;
		if (!strcmp(done, "/proc/self") || !strcmp(done, "/proc/thread-self")) {
			found = 1;
			rest = e;
			break;
		}
		struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
		int fd = (int)syscall(SYS_openat2, root, done, &how, sizeof how);
		if (fd < 0)
			break;
		ssize_t tl = readlinkat(fd, "", target, sizeof target - 1);
		close(fd);
		if (tl < 0) { /* not a link: the next component */
			dl += 1 + n;
			p = e;
			continue;
		}
		target[tl] = 0;
		if (++links > 40 || (size_t)snprintf(next, sizeof next, "%s%s", target, e) >= sizeof next)
			break;
		/* an absolute target starts again at the root, a relative one in the link's directory */
		if (target[0] == '/')
			dl = 0;
		done[dl] = 0;
		memcpy(todo, next, strlen(next) + 1);
		p = todo;
	}
out:
	creds_leave();
	size_t dn = strlen(done), rn = strlen(rest);
	if (!found || dn + rn >= sizeof q->path)
		return 0;
	memcpy(q->path, done, dn);
	memcpy(q->path + dn, rest, rn + 1);
	return 1;
}

/* Opens q (or, naming the caller, what it names) as the caller would. */
static void open_request(struct sup *s, pid_t tid, int root, int base, const struct creds *c, struct open_req *q, struct opened *o)
{
	static struct self_ref r;
	if (!self_path(q->path, &r)) {
		open_as_caller(s, root, base, c, q, o);
		if (o->fd >= 0 || o->err != ENOENT || !through_self(root, c, q) || !self_path(q->path, &r))
			return;
	}
	size_t link = own_link(r.tail);
	int nofollow_link = !r.tail[link] && (q->how.flags & O_NOFOLLOW);
	if (link && !nofollow_link && !q->how.resolve) {
		open_own(s, tid, root, c, &r, link, q, o);
		return;
	}
	/* another entry of the caller's own: /proc/<its pid in the container's namespace>/… */
	static char path[PATH_MAX];
	int n = r.thread ? snprintf(path, sizeof path, "/proc/%d/task/%d%s%s", c->ns_tgid, c->ns_pid, *r.tail ? "/" : "", r.tail)
			 : snprintf(path, sizeof path, "/proc/%d%s%s", c->ns_tgid, *r.tail ? "/" : "", r.tail);
	if (c->ns_tgid <= 0 || n >= (int)sizeof path) {
		o->scoped = o->own = 0;
		describe(s, o, c->ns_tgid <= 0 ? -ESRCH : -ENAMETOOLONG);
		return;
	}
	memcpy(q->path, path, (size_t)n + 1);
	open_as_caller(s, root, base, c, q, o);
}

/* A blocking open of a fifo, done by a child of the supervisor: it waits
 * for the other end with the caller's credentials on the very file the
 * supervisor checked (held: for a reader, the supervisor's own non-blocking
 * read end, which already counts as the reader the kernel's open would add;
 * for a writer, an O_PATH descriptor), then hands the descriptor over
 * itself. A timer wakes it every 200 ms to see whether the caller still
 * waits (a caller killed meanwhile leaves no child behind) and, for a
 * reader, whether a writer came and went between two waits. */
static void wake(int sig)
{
	(void)sig;
}

/* The reader's end has seen a writer since it was opened: data, or a writer gone (POLLHUP). */
static int writer_seen(int held)
{
	struct pollfd p = { .fd = held, .events = POLLIN };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP));
}

static void hand_over(struct sup *s, const struct seccomp_notif *n, int fd, int err, const struct open_req *q)
{
	if (fd >= 0) {
		struct seccomp_notif_addfd a = { .id = n->id, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = (uint32_t)fd,
						 .newfd_flags = (q->how.flags & O_CLOEXEC) ? O_CLOEXEC : 0 };
		ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	} else {
		struct seccomp_notif_resp resp = { .id = n->id, .error = -err };
		ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

static int open_fifo_later(struct sup *s, const struct seccomp_notif *n, int held, const struct creds *c, const struct open_req *q)
{
	int reader = (q->how.flags & O_ACCMODE) == O_RDONLY;
	int keep = (int)(q->how.flags & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME));
	if (reader && writer_seen(held)) {
		/* the kernel's open would not wait: the read end the supervisor holds is the answer */
		fcntl(held, F_SETFL, keep);
		return 0;
	}
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		return 1;
	struct sigaction sa = { .sa_handler = wake }; /* no SA_RESTART: the open returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_interval = { 0, 200000 }, .it_value = { 0, 200000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	char self[64];
	snprintf(self, sizeof self, "self/fd/%d", held);
	int flags = (int)(q->how.flags & ~(uint64_t)(O_CREAT | O_EXCL | O_TRUNC)) | O_NOCTTY | O_CLOEXEC;
	int fd = -1, err = -creds_enter(c);
	while (!err) {
		if (reader && writer_seen(held)) {
			fcntl(held, F_SETFL, keep);
			fd = held;
			break;
		}
		fd = openat(s->hostproc, self, flags);
		if (fd >= 0)
			break;
		err = errno;
		if (err == EINTR && notif_valid(s->listener, n->id))
			err = 0;
	}
	struct itimerval off = { 0 };
	setitimer(ITIMER_REAL, &off, NULL);
	if (err != EINTR)
		hand_over(s, n, fd, err, q);
	_exit(0);
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

/* A fifo whose open may block: a reader (it waits for a writer), or a
 * writer that found no reader (ENXIO without blocking, retried as O_PATH).
 * A writer that found one, O_RDWR and O_NONBLOCK never wait; nor do pipes
 * (pipefs: /proc/self/fd of a pipe). */
static int blocking_fifo(const struct open_req *q, const struct opened *o, int no_reader)
{
	struct stat st;
	if (q->how.flags & (O_PATH | O_NONBLOCK) || o->fstype == 0x50495045)
		return 0;
	if ((q->how.flags & O_ACCMODE) != O_RDONLY && !no_reader)
		return 0;
	return fstat(o->fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

int handle_open(struct sup *s, const struct seccomp_notif *n, struct seccomp_notif_resp *resp)
{
	static struct open_req q, qpath;
	static struct opened o;
	int no_reader = 0;
	int r = read_request(s, n, &q);
	if (r < 0) {
		resp->error = r;
		return 0;
	}
	if (!q.path[0]) {
		resp->error = -ENOENT;
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
	if (r == 0) {
		qpath = q;
		open_request(s, n->pid, root, base, &c, &q, &o);
		/* a fifo opened for writing with no reader yet (ENXIO without
		 * blocking): the file itself, to wait for its reader below */
		if (o.fd < 0 && o.err == ENXIO && !(q.how.flags & (O_PATH | O_NONBLOCK))) {
			qpath.how.flags = O_PATH | (qpath.how.flags & (O_NOFOLLOW | O_DIRECTORY));
			qpath.how.mode = 0;
			open_request(s, n->pid, root, base, &c, &qpath, &o);
			struct stat st;
			if (o.fd >= 0 && (fstat(o.fd, &st) < 0 || !S_ISFIFO(st.st_mode))) {
				close(o.fd);
				o.fd = -1;
			}
			if (o.fd < 0)
				o.err = ENXIO;
			no_reader = o.fd >= 0;
		}
	}
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
	else if (!o.scoped && !o.own && !inside_container(s, n->pid, fd, o.fstype, o.where))
		why = "outside the container's mounts", err = EPERM;
	if (why) {
		close(fd);
		audit_path(s, n, s->rules[n->data.nr].name, o.where, why, err);
		resp->error = -err;
		return 0;
	}
	if (blocking_fifo(&q, &o, no_reader)) {
		/* a child keeps our descriptor until its own open is done: the read end we hold stays counted */
		int replied = open_fifo_later(s, n, fd, &c, &q);
		if (replied != 0) {
			close(fd);
			if (replied < 0)
				resp->error = replied;
			return replied > 0;
		}
		/* 0: a writer was there already; fd is the answer, its flags set */
		replied = inject(s, n, fd, (q.how.flags & O_CLOEXEC) != 0);
		close(fd);
		return replied;
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
