/* The filesystem steps of a plan: the rootfs mount point, MOUNT, MKNOD,
 * BIND_DEVICE and SYMLINK records (all resolved inside the rootfs, see
 * resolve.c), the root switch, then masked and read-only paths. */
#include "executor.h"

#include <berth/wire.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

struct mount_rec {
	char *source, *dest, *fstype, *data, *uidmap, *gidmap;
	uint64_t flags, propagation;
	uint32_t extra;
	int tree; /* an idmapped tree the front prepared, or -1 */
};

/* Idmapped trees made by the front before the clone, keyed by their MOUNT
 * record (the container process is a copy of the front: same addresses). */
#define MAX_IDMAP_TREES 64
static struct {
	const uint8_t *rec;
	int fd;
} idmap_trees[MAX_IDMAP_TREES];
static int n_idmap_trees;

static int read_mount(const struct wrec *r, struct mount_rec *m)
{
	struct wcur c;
	wcur_init(&c, r);
	m->source = wcur_str(&c);
	m->dest = wcur_str(&c);
	m->fstype = wcur_str(&c);
	m->flags = wcur_u64(&c);
	m->propagation = wcur_u64(&c);
	m->data = wcur_str(&c);
	m->extra = wcur_u32(&c);
	m->uidmap = wcur_str(&c);
	m->gidmap = wcur_str(&c);
	m->tree = -1;
	for (int i = 0; i < n_idmap_trees; i++)
		if (idmap_trees[i].rec == r->p)
			m->tree = idmap_trees[i].fd;
	return c.bad ? -1 : 0;
}

static void free_mount(struct mount_rec *m)
{
	free(m->source), free(m->dest), free(m->fstype), free(m->data), free(m->uidmap), free(m->gidmap);
}

static void fd_path(char *buf, size_t n, int fd) { snprintf(buf, n, "/proc/self/fd/%d", fd); }

/* Flags a remount must keep: in a user namespace the kernel locks the
 * nosuid/nodev/noexec/atime/ro flags of a bind source and refuses to clear them. */
unsigned long locked_flags(const char *path)
{
	struct statvfs s;
	if (statvfs(path, &s) < 0)
		return 0;
	unsigned long f = 0;
	if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (s.f_flag & ST_NODEV) f |= MS_NODEV;
	if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (s.f_flag & ST_RDONLY) f |= MS_RDONLY;
	if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

int prepare_rootfs(const struct plan *p, const char *rootfs, int *rootfd, struct failure *f)
{
	unsigned long prop = MS_SLAVE | MS_REC;
	struct wrec r;
	struct stat ns;
	/* last line of defence: these steps would change the host's mounts */
	if (stat("/proc/self/ns/mnt", &ns) < 0 || (unsigned long)ns.st_ino == p->front_mntns)
		return fail(f, EINVAL, "rootfs", "refusing to prepare the rootfs in the caller's mount namespace");
	if (wire_find(&p->msg, BERTH_PLAN_ROOTFS_PROPAGATION, &r)) {
		struct wcur c;
		wcur_init(&c, &r);
		prop = (unsigned long)wcur_u64(&c);
	}
	/* Nothing we mount may propagate back to the host, and pivot_root refuses
	 * shared mounts around the old and new roots: first make every mount a
	 * slave (or private, when private was asked for), recursively, whatever
	 * the config says; the exact propagation asked for is applied to the new
	 * root after the switch (root_propagation). */
	unsigned long first = (prop & MS_PRIVATE) ? MS_PRIVATE | MS_REC : MS_SLAVE | MS_REC;
	if (mount(NULL, "/", NULL, first, NULL) < 0)
		return fail(f, errno, "rootfs propagation", "/: %s", strerror(errno));
	/* pivot_root needs the new root to be a mount point */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail(f, errno, "bind rootfs", "%s: %s", rootfs, strerror(errno));
	*rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*rootfd < 0)
		return fail(f, errno, "open rootfs", "%s: %s", rootfs, strerror(errno));
	return 0;
}

/* After the root switch: the propagation the config asked for, on "/". */
int root_propagation(const struct plan *p, struct failure *f)
{
	struct wrec r;
	if (!wire_find(&p->msg, BERTH_PLAN_ROOTFS_PROPAGATION, &r))
		return 0;
	struct wcur c;
	wcur_init(&c, &r);
	unsigned long prop = (unsigned long)wcur_u64(&c);
	if (prop == (MS_SLAVE | MS_REC) || prop == (MS_PRIVATE | MS_REC))
		return 0; /* already so since prepare_rootfs */
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return fail(f, errno, "rootfs propagation", "/ after the root switch: %s", strerror(errno));
	return 0;
}

/* Writes a mapping ("inside outside count" lines; commas also separate lines). */
static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64], *text = strdup(map);
	if (!text)
		return -1;
	for (char *s = text; *s; s++)
		if (*s == ',')
			*s = '\n';
	snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));
	int err = errno;
	if (fd >= 0)
		close(fd);
	free(text);
	errno = err;
	return n < 0 ? -1 : 0;
}

/* The pid of a pidfd as the mounted /proc numbers it: we run in the
 * container's new pid namespace, the /proc we see is still the host's. */
static long proc_pid_of(int pidfd)
{
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
	FILE *f = fopen(path, "re");
	long pid = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Pid: %ld", &pid) == 1)
			break;
	if (f)
		fclose(f);
	if (pid <= 0)
		errno = ESRCH;
	return pid;
}

/* A user namespace with the mount's mappings, held by a helper process
 * that lives until we have its namespace fd. */
static int idmap_userns(const struct mount_rec *m)
{
	int pfd[2], pidfd = -1;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	long pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_PIDFD | SIGCHLD, 0, &pidfd, NULL, 0);
	if (pid == 0) {
		char c;
		close(pfd[1]);
		while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pfd[0]);
	int fd = -1, err = errno;
	long host = pid > 0 ? proc_pid_of(pidfd) : -1;
	if (host > 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%ld/ns/user", host);
		if (write_map((pid_t)host, "uid_map", m->uidmap) == 0 && write_map((pid_t)host, "gid_map", m->gidmap) == 0)
			fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	err = errno;
	close(pfd[1]);
	if (pidfd >= 0)
		close(pidfd);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	errno = err;
	return fd;
}

/* A detached, idmapped copy of src: open_tree + mount_setattr(IDMAP). */
static int idmap_tree(const struct mount_rec *m, const char *src)
{
	int rec = (m->flags & MS_REC) ? AT_RECURSIVE : 0;
	int userns = idmap_userns(m);
	if (userns < 0)
		return -1;
	int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
	if (tree >= 0 && mount_setattr(tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr) < 0) {
		int err = errno;
		close(tree);
		tree = -1;
		errno = err;
	}
	int err = errno;
	close(userns);
	errno = err;
	return tree;
}

/*
 * Front side, before the clone: idmapped mounts of host sources are made
 * here, in the initial user namespace. The container process may live in a
 * new user namespace, where the mapping's host ids are not mapped and
 * filesystems such as ext4 refuse to be idmapped; it only attaches the tree.
 */
int idmap_prepare(const struct plan *p, struct failure *f)
{
	size_t pos = 0;
	struct wrec r;
	while (plan_next(p, &pos, &r)) {
		if (r.tag != BERTH_PLAN_MOUNT)
			continue;
		struct mount_rec m;
		if (read_mount(&r, &m) < 0) {
			free_mount(&m);
			return fail(f, EINVAL, "plan", "MOUNT is malformed");
		}
		int wanted = (m.extra & BERTH_MOUNT_IDMAP) && !(m.extra & BERTH_MOUNT_SOURCE_IN_ROOT);
		if (wanted && n_idmap_trees == MAX_IDMAP_TREES) {
			free_mount(&m);
			return fail(f, E2BIG, "idmap mount", "more than %d idmapped mounts", MAX_IDMAP_TREES);
		}
		int tree = wanted ? idmap_tree(&m, m.source) : -1;
		if (wanted && tree < 0) {
			int err = errno;
			fail(f, err, "idmap mount", "%s: %s", m.dest, strerror(err));
			free_mount(&m);
			return -1;
		}
		if (wanted) {
			idmap_trees[n_idmap_trees].rec = r.p;
			idmap_trees[n_idmap_trees++].fd = tree;
		}
		free_mount(&m);
	}
	return 0;
}

/* Front side, once the container process has its copies. */
void idmap_release(void)
{
	for (int i = 0; i < n_idmap_trees; i++)
		close(idmap_trees[i].fd);
	n_idmap_trees = 0;
}

static int idmap_mount(const struct mount_rec *m, const char *src, int dfd, struct failure *f)
{
	if (m->tree >= 0) {
		if (move_mount(m->tree, "", dfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return fail(f, errno, "idmap mount", "%s: %s", m->dest, strerror(errno));
		return 0;
	}
	int rec = (m->flags & MS_REC) ? AT_RECURSIVE : 0;
	int userns = idmap_userns(m);
	if (userns < 0)
		return fail(f, errno, "idmap mount", "user namespace for %s: %s", m->dest, strerror(errno));
	int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
	int rc = tree < 0 ? -1 : mount_setattr(tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr);
	if (rc == 0)
		rc = move_mount(tree, "", dfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	int err = errno;
	close(userns);
	if (tree >= 0)
		close(tree);
	return rc < 0 ? fail(f, err, "idmap mount", "%s: %s", m->dest, strerror(err)) : 0;
}

/* After a mount, the destination is resolved again: the fresh fd names the
 * root of the new mount, which the follow-up operations must address. */
static int reopen(int rootfd, const struct mount_rec *m, char *buf, size_t n, struct failure *f)
{
	int fd = resolve_in_root(rootfd, m->dest, RESOLVE_EXISTING);
	if (fd < 0)
		return fail(f, errno, "mount", "reopen %s: %s", m->dest, strerror(errno));
	fd_path(buf, n, fd);
	return fd;
}

static int finish_bind(int rootfd, const struct mount_rec *m, char *step, struct failure *f)
{
	unsigned long rest = (unsigned long)m->flags & ~(unsigned long)(MS_BIND | MS_REC | PROPAGATION | MS_REMOUNT);
	if (!(m->extra & (BERTH_MOUNT_REMOUNT | BERTH_MOUNT_RECURSIVE_RO)) && !rest)
		return 0;
	char target[64];
	int fd = reopen(rootfd, m, target, sizeof target, f);
	if (fd < 0)
		return -1;
	int rc = 0;
	if ((m->extra & BERTH_MOUNT_REMOUNT) || rest) {
		unsigned long keep = locked_flags(target);
		if (rest & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME | MS_NODIRATIME))
			keep &= ~(unsigned long)(MS_NOATIME | MS_RELATIME | MS_NODIRATIME);
		if (!(rest & MS_RDONLY))
			keep &= ~(unsigned long)MS_RDONLY;
		if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | rest | keep, NULL) < 0)
			rc = fail(f, errno, step, "remount: %s", strerror(errno));
	}
	if (rc == 0 && (m->extra & BERTH_MOUNT_RECURSIVE_RO)) {
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
			rc = fail(f, errno, step, "recursive read-only: %s", strerror(errno));
	}
	close(fd);
	return rc;
}

static int mount_one(int rootfd, const struct mount_rec *m, char *step, struct failure *f)
{
	int bind = !strcmp(m->fstype, "bind") || (m->flags & MS_BIND);
	enum resolve_create how = (m->extra & BERTH_MOUNT_NO_CREATE) ? RESOLVE_EXISTING
		: bind && (m->extra & BERTH_MOUNT_FILE_TARGET) ? CREATE_FILE : CREATE_DIR;
	int dfd = resolve_in_root(rootfd, m->dest, how);
	if (dfd < 0)
		return fail(f, errno, step, "destination: %s", strerror(errno));
	char target[64], srcbuf[64];
	fd_path(target, sizeof target, dfd);
	const char *src = m->source;
	int sfd = -1;
	if (m->extra & BERTH_MOUNT_SOURCE_IN_ROOT) {
		sfd = resolve_in_root(rootfd, m->source, RESOLVE_EXISTING);
		if (sfd < 0) {
			close(dfd);
			return fail(f, errno, step, "source %s: %s", m->source, strerror(errno));
		}
		fd_path(srcbuf, sizeof srcbuf, sfd);
		src = srcbuf;
	}
	int rc = 0;
	if (m->extra & BERTH_MOUNT_IDMAP)
		rc = idmap_mount(m, src, dfd, f);
	else if (bind && mount(src, target, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
		rc = fail(f, errno, step, "bind %s: %s", m->source, strerror(errno));
	else if (!bind && mount(m->source, target, m->fstype, (unsigned long)m->flags & ~(unsigned long)PROPAGATION,
				*m->data ? m->data : NULL) < 0)
		rc = fail(f, errno, step, "%s: %s", m->fstype, strerror(errno));
	close(dfd);
	if (sfd >= 0)
		close(sfd);
	if (rc == 0 && (bind || (m->extra & BERTH_MOUNT_IDMAP)))
		rc = finish_bind(rootfd, m, step, f);
	if (rc == 0 && m->propagation) {
		int fd = reopen(rootfd, m, target, sizeof target, f);
		if (fd < 0)
			return -1;
		if (mount(NULL, target, NULL, (unsigned long)m->propagation, NULL) < 0)
			rc = fail(f, errno, step, "propagation: %s", strerror(errno));
		close(fd);
	}
	return rc;
}

int do_mount(int rootfd, const struct wrec *r, struct failure *f)
{
	struct mount_rec m;
	if (read_mount(r, &m) < 0) {
		free_mount(&m);
		return fail(f, EINVAL, "plan", "MOUNT is malformed");
	}
	char step[160];
	snprintf(step, sizeof step, "mount %s", m.dest);
	int rc = mount_one(rootfd, &m, step, f);
	free_mount(&m);
	return rc;
}

int do_mknod(int rootfd, const struct wrec *r, struct failure *f)
{
	struct wcur c;
	wcur_init(&c, r);
	char *path = wcur_str(&c);
	uint32_t mode = wcur_u32(&c), major = wcur_u32(&c), minor = wcur_u32(&c);
	uint32_t uid = wcur_u32(&c), gid = wcur_u32(&c);
	if (c.bad)
		return fail(f, EINVAL, "plan", "MKNOD is malformed");
	const char *name;
	int dir = resolve_parent(rootfd, path, &name);
	if (dir < 0)
		return fail(f, errno, "mknod", "%s: %s", path, strerror(errno));
	int rc = mknodat(dir, name, mode, makedev(major, minor));
	if (rc < 0 && errno == EEXIST && unlinkat(dir, name, 0) == 0)
		rc = mknodat(dir, name, mode, makedev(major, minor));
	if (rc < 0 || fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		rc = fail(f, errno, "mknod", "%s: %s", path, strerror(errno));
	close(dir);
	free(path);
	return rc;
}

int do_bind_device(int rootfd, const struct wrec *r, struct failure *f)
{
	struct wcur c;
	wcur_init(&c, r);
	char *path = wcur_str(&c), *host = wcur_str(&c);
	if (c.bad)
		return fail(f, EINVAL, "plan", "BIND_DEVICE is malformed");
	int fd = resolve_in_root(rootfd, path, CREATE_FILE);
	if (fd < 0)
		return fail(f, errno, "bind device", "%s: %s", path, strerror(errno));
	char target[64];
	fd_path(target, sizeof target, fd);
	int rc = mount(host, target, NULL, MS_BIND, NULL) < 0 ? fail(f, errno, "bind device", "%s: %s", path, strerror(errno)) : 0;
	close(fd);
	free(path);
	free(host);
	return rc;
}

int do_symlink(int rootfd, const struct wrec *r, struct failure *f)
{
	struct wcur c;
	wcur_init(&c, r);
	char *target = wcur_str(&c), *path = wcur_str(&c);
	if (c.bad)
		return fail(f, EINVAL, "plan", "SYMLINK is malformed");
	const char *name;
	int dir = resolve_parent(rootfd, path, &name);
	int rc = 0;
	if (dir < 0 || (symlinkat(target, dir, name) < 0 && errno != EEXIST))
		rc = fail(f, errno, "symlink", "%s: %s", path, strerror(errno));
	if (dir >= 0)
		close(dir);
	free(target);
	free(path);
	return rc;
}

int switch_root(const char *rootfs, uint32_t mode, struct failure *f)
{
	if (mode == BERTH_ROOT_MOVE_CHROOT) {
		if (chdir(rootfs) < 0 || mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
			return fail(f, errno, "chroot", "%s: %s", rootfs, strerror(errno));
		return 0;
	}
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0 || fchdir(newroot) < 0)
		return fail(f, errno, "pivot_root", "%s: %s", rootfs, strerror(errno));
	/* pivot_root(".", "."): the old root ends up stacked on the new one,
	 * from where it is detached without needing a directory for it */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(f, errno, "pivot_root", "%s: %s", rootfs, strerror(errno));
	if (fchdir(oldroot) < 0)
		return fail(f, errno, "pivot_root", "enter old root: %s", strerror(errno));
	/* slave first, so the detach does not propagate to the host */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 || umount2(".", MNT_DETACH) < 0)
		return fail(f, errno, "pivot_root", "detach old root: %s", strerror(errno));
	if (chdir("/") < 0)
		return fail(f, errno, "pivot_root", "chdir /: %s", strerror(errno));
	close(oldroot);
	close(newroot);
	return 0;
}

static char *path_of(const struct wrec *r)
{
	struct wcur c;
	wcur_init(&c, r);
	char *s = wcur_str(&c);
	if (c.bad) {
		free(s);
		return NULL;
	}
	return s;
}

int do_mask(const struct wrec *r, struct failure *f)
{
	char *path = path_of(r);
	if (!path)
		return fail(f, EINVAL, "plan", "MASK is malformed");
	struct stat st;
	int rc = 0;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = fail(f, errno, "mask", "%s: %s", path, strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0k,mode=0555") < 0)
			rc = fail(f, errno, "mask", "%s: %s", path, strerror(errno));
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		rc = fail(f, errno, "mask", "%s: %s", path, strerror(errno));
	}
	free(path);
	return rc;
}

int do_readonly(const struct wrec *r, struct failure *f)
{
	char *path = path_of(r);
	if (!path)
		return fail(f, EINVAL, "plan", "READONLY is malformed");
	struct stat st;
	int rc = 0;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = fail(f, errno, "readonly", "%s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		rc = fail(f, errno, "readonly", "bind %s: %s", path, strerror(errno));
	else if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr) < 0 &&
		 mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(path), NULL) < 0)
		rc = fail(f, errno, "readonly", "remount %s: %s", path, strerror(errno));
	free(path);
	return rc;
}

int root_readonly(struct failure *f)
{
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags("/"), NULL) < 0)
		return fail(f, errno, "readonly rootfs", "%s", strerror(errno));
	return 0;
}
