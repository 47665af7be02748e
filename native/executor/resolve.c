/* Resolving a container path without ever leaving the rootfs. A container
 * image controls its own symlinks; a mount destination that is a symlink to
 * "/etc" or "../../.." must land inside the rootfs, and one swapped in while
 * we work must not redirect the mount (CVE-2021-30465 class). openat2 with
 * RESOLVE_IN_ROOT walks every component with the rootfs as "/" and refuses
 * magic links; the caller then mounts onto /proc/self/fd/<fd>, which names
 * exactly the directory that was resolved. */
#include "executor.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_in_root(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	int fd;
	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

/* Creates one missing component under parent: a directory, or for the last
 * component of a file target an empty file. O_NOFOLLOW: a dangling symlink
 * there is refused rather than followed. */
static int create_component(int parent, const char *name, int as_file)
{
	if (!as_file)
		return mkdirat(parent, name, 0755) < 0 && errno != EEXIST ? -1 : 0;
	int fd = openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* A missing component that is a dangling symlink: the walk goes on at its
 * target, joined as the kernel would (absolute = from the rootfs). */
static char *follow_dangling(int parent, const char *name, const char *before, const char *rest)
{
	struct stat st;
	char link[4096];
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
		return NULL;
	ssize_t n = readlinkat(parent, name, link, sizeof link - 1);
	if (n <= 0)
		return NULL;
	link[n] = 0;
	char *out = NULL;
	if (asprintf(&out, "%s/%s/%s", link[0] == '/' ? "" : before, link, rest) < 0)
		return NULL;
	return out;
}

static int walk(int rootfd, const char *path, enum resolve_create how, int depth)
{
	int fd = open_in_root(rootfd, path);
	if (fd >= 0 || errno != ENOENT || how == RESOLVE_EXISTING)
		return fd;
	if (depth > 40) {
		errno = ELOOP;
		return -1;
	}
	/* walk from the root, creating what is missing, re-resolving every prefix */
	char *copy = strdup(path);
	if (!copy)
		return -1;
	int parent = open_in_root(rootfd, "/");
	size_t len = strlen(copy);
	size_t i = 0;
	int err = 0;
	while (parent >= 0 && i < len) {
		while (copy[i] == '/')
			i++;
		if (!copy[i])
			break;
		size_t end = i;
		while (end < len && copy[end] != '/')
			end++;
		int last = end >= len || copy[end + strspn(copy + end, "/")] == 0;
		char saved = copy[end];
		copy[end] = 0;
		int next = open_in_root(rootfd, copy);
		if (next < 0 && errno == ENOENT) {
			char before_c = copy[i];
			copy[i] = 0;
			char *before = strdup(copy);
			copy[i] = before_c;
			char *redirected = before ? follow_dangling(parent, copy + i, before, saved ? copy + end + 1 : "") : NULL;
			free(before);
			if (redirected) {
				close(parent);
				free(copy);
				fd = walk(rootfd, redirected, how, depth + 1);
				err = errno;
				free(redirected);
				errno = err;
				return fd;
			}
			if (create_component(parent, copy + i, last && how == CREATE_FILE) < 0) {
				err = errno;
				close(parent);
				parent = -1;
				break;
			}
			next = open_in_root(rootfd, copy);
		}
		err = errno;
		close(parent);
		parent = next;
		copy[end] = saved;
		i = end;
	}
	free(copy);
	if (parent < 0)
		errno = err ? err : ENOENT;
	return parent;
}

int resolve_in_root(int rootfd, const char *path, enum resolve_create how)
{
	return walk(rootfd, path, how, 0);
}

int resolve_parent(int rootfd, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		*name = path;
		return open_in_root(rootfd, "/");
	}
	*name = slash + 1;
	char *dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -1;
	int fd = resolve_in_root(rootfd, *dir ? dir : "/", CREATE_DIR);
	int err = errno;
	free(dir);
	errno = err;
	return fd;
}
