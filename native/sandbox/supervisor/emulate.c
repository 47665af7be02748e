/* Emulated calls and files: the container's view instead of the host's.
 * uname reports the policy's kernel name (the node and domain names stay
 * the container's: the supervisor lives in its UTS namespace); sysinfo and
 * /proc/meminfo report the memory of the container's cgroup; /proc/uptime
 * and /proc/loadavg count from the container's init and its processes;
 * /proc/<pid> of a process outside the container (another pid namespace;
 * with the host's, another cgroup) does not exist, here and in listings
 * of /proc (dirents.c). Files are served from sealed memfds, opened read-only. */
#include "supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static ssize_t read_at(int dirfd, const char *path, char *buf, size_t n)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	buf[r > 0 ? r : 0] = 0;
	return r;
}

static uint64_t read_u64_at(int dirfd, const char *path, uint64_t fallback)
{
	char buf[64];
	if (read_at(dirfd, path, buf, sizeof buf) <= 0 || !strncmp(buf, "max", 3))
		return fallback;
	return strtoull(buf, NULL, 10);
}

static uint64_t stat_field(int dirfd, const char *path, const char *key)
{
	char buf[8192];
	if (read_at(dirfd, path, buf, sizeof buf) <= 0)
		return 0;
	size_t k = strlen(key);
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, key, k) && l[k] == ' ')
			return strtoull(l + k + 1, NULL, 10);
	return 0;
}

void cgroup_memory(struct sup *s, pid_t pid, uint64_t *limit, uint64_t *usage, uint64_t *cache)
{
	char buf[4096], path[PATH_MAX_CG];
	*limit = *usage = *cache = 0;
	snprintf(path, sizeof path, "%d/cgroup", pid);
	if (read_at(s->hostproc, path, buf, sizeof buf) <= 0)
		return;
	char *v1 = NULL, *v2 = NULL;
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		if (!strcmp(c1 + 1, "") && l[0] == '0')
			v2 = c2 + 1;
		else if (strstr(c1 + 1, "memory"))
			v1 = c2 + 1;
	}
	if (v1) {
		snprintf(path, sizeof path, "sys/fs/cgroup/memory%s/memory.limit_in_bytes", v1);
		*limit = read_u64_at(s->hostroot, path, 0);
		snprintf(path, sizeof path, "sys/fs/cgroup/memory%s/memory.usage_in_bytes", v1);
		*usage = read_u64_at(s->hostroot, path, 0);
		snprintf(path, sizeof path, "sys/fs/cgroup/memory%s/memory.stat", v1);
		*cache = stat_field(s->hostroot, path, "total_cache");
		return;
	}
	if (!v2)
		return;
	static const char *const roots[] = { "sys/fs/cgroup/unified", "sys/fs/cgroup", NULL };
	for (int i = 0; roots[i]; i++) {
		snprintf(path, sizeof path, "%s%s/memory.current", roots[i], v2);
		if (faccessat(s->hostroot, path, R_OK, 0) < 0)
			continue;
		*usage = read_u64_at(s->hostroot, path, 0);
		snprintf(path, sizeof path, "%s%s/memory.max", roots[i], v2);
		*limit = read_u64_at(s->hostroot, path, 0);
		snprintf(path, sizeof path, "%s%s/memory.stat", roots[i], v2);
		*cache = stat_field(s->hostroot, path, "file");
		return;
	}
}

struct memview {
	uint64_t total, free, cache;
};

static void memory_view(struct sup *s, pid_t pid, struct memview *m)
{
	struct sysinfo si;
	sysinfo(&si);
	uint64_t host = (uint64_t)si.totalram * si.mem_unit;
	uint64_t limit, usage, cache;
	cgroup_memory(s, pid, &limit, &usage, &cache);
	m->total = limit && limit < host ? limit : host;
	if (!usage) /* no cgroup figures: the host's own */
		usage = host - (uint64_t)si.freeram * si.mem_unit;
	m->free = usage < m->total ? m->total - usage : 0;
	m->cache = cache < usage ? cache : 0;
}

/* Seconds since the container's init (pid 1 of its pid namespace) started. */
static double container_uptime(struct sup *s, pid_t pid)
{
	char path[64], buf[1024];
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	double up = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	snprintf(path, sizeof path, "%d/root/proc/1/stat", pid);
	if (read_at(s->hostproc, path, buf, sizeof buf) <= 0)
		return up;
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return up;
	double start = (double)strtoull(p + 1, NULL, 10) / (double)sysconf(_SC_CLK_TCK);
	return up > start ? up - start : 0;
}

/* Processes in the container's /proc, and the highest pid. */
static int count_procs(struct sup *s, pid_t pid, int *last)
{
	char path[64];
	snprintf(path, sizeof path, "%d/root/proc", pid);
	int fd = openat(s->hostproc, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*last = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		char *end;
		long v = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name)
			continue;
		n++;
		if (v > *last)
			*last = (int)v;
	}
	closedir(d);
	return n ? n : 1;
}

int handle_uname(struct sup *s, const struct seccomp_notif *n, struct seccomp_notif_resp *resp)
{
	struct utsname u;
	uname(&u);
	snprintf(u.sysname, sizeof u.sysname, "%s", s->sysname);
	snprintf(u.release, sizeof u.release, "%s", s->release);
	snprintf(u.version, sizeof u.version, "%s", s->version);
	if (!notif_valid(s->listener, n->id))
		return 0;
	int r = mem_write(n->pid, n->data.args[0], &u, sizeof u);
	resp->error = r < 0 ? -EFAULT : 0;
	return 0;
}

int handle_sysinfo(struct sup *s, const struct seccomp_notif *n, struct seccomp_notif_resp *resp)
{
	struct sysinfo si;
	struct memview m;
	int last;
	sysinfo(&si);
	memory_view(s, n->pid, &m);
	si.uptime = (long)container_uptime(s, n->pid);
	si.loads[0] = si.loads[1] = si.loads[2] = 0;
	si.mem_unit = 1;
	si.totalram = m.total;
	si.freeram = m.free;
	si.sharedram = 0;
	si.bufferram = 0;
	si.totalswap = si.freeswap = 0;
	si.totalhigh = si.freehigh = 0;
	si.procs = (unsigned short)count_procs(s, n->pid, &last);
	if (!notif_valid(s->listener, n->id))
		return 0;
	int r = mem_write(n->pid, n->data.args[0], &si, sizeof si);
	resp->error = r < 0 ? -EFAULT : 0;
	return 0;
}

static int memfd_of(struct sup *s, const char *text, size_t len)
{
	int fd = memfd_create("berth-sandbox-proc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	char link[64];
	snprintf(link, sizeof link, "self/fd/%d", fd);
	int ro = openat(s->hostproc, link, O_RDONLY | O_CLOEXEC);
	close(fd);
	return ro;
}

static int meminfo(struct sup *s, pid_t pid)
{
	struct memview m;
	memory_view(s, pid, &m);
	char text[1024];
	uint64_t kb = 1024;
	int n = snprintf(text, sizeof text,
			 "MemTotal:       %8llu kB\nMemFree:        %8llu kB\nMemAvailable:   %8llu kB\n"
			 "Buffers:        %8llu kB\nCached:         %8llu kB\nSwapCached:     %8llu kB\n"
			 "Active:         %8llu kB\nInactive:       %8llu kB\nSwapTotal:      %8llu kB\n"
			 "SwapFree:       %8llu kB\nDirty:          %8llu kB\nShmem:          %8llu kB\n",
			 (unsigned long long)(m.total / kb), (unsigned long long)(m.free / kb),
			 (unsigned long long)((m.free + m.cache) / kb), 0ULL, (unsigned long long)(m.cache / kb), 0ULL,
			 (unsigned long long)((m.total - m.free) / kb), (unsigned long long)(m.cache / kb), 0ULL, 0ULL, 0ULL, 0ULL);
	return memfd_of(s, text, (size_t)n);
}

/* The caller's side of "is this pid the container's?": its pid namespace
 * and, when that is the supervisor's own (the container has none of its
 * own and sees every host process), its cgroups. 0, or -1 when the caller
 * is gone. */
int pid_view_of(struct sup *s, pid_t caller, struct pid_view *v)
{
	char p[64];
	v->caller = caller;
	snprintf(p, sizeof p, "%d/ns/pid", caller);
	ssize_t y = readlinkat(s->hostproc, p, v->ns, sizeof v->ns - 1);
	if (y <= 0)
		return -1;
	v->ns[y] = 0;
	struct stat st;
	v->host = fstatat(s->hostproc, p, &st, 0) == 0 && (unsigned long)st.st_ino == s->pidns;
	v->cgroup[0] = 0;
	if (v->host) {
		snprintf(p, sizeof p, "%d/cgroup", caller);
		if (read_at(s->hostproc, p, v->cgroup, sizeof v->cgroup) <= 0)
			return -1;
	}
	return 0;
}

/* Is <other>, as the caller's /proc names it, outside the caller's
 * container? With a pid namespace of its own the kernel lists that
 * namespace and those below it: a process of another one is hidden.
 * Sharing the host's, the kernel lists every host process: one in
 * another cgroup (another container, the host's own) is hidden. */
int pid_hidden(struct sup *s, const struct pid_view *v, long other)
{
	static char a[PATH_MAX_CG], theirs[sizeof v->ns], cg[sizeof v->cgroup];
	snprintf(a, sizeof a, "%d/root/proc/%ld/ns/pid", v->caller, other);
	ssize_t x = readlinkat(s->hostproc, a, theirs, sizeof theirs - 1);
	if (x <= 0)
		return 1;
	theirs[x] = 0;
	if (strcmp(theirs, v->ns))
		return 1;
	if (!v->host)
		return 0;
	/* the host's pid namespace: the number is the host's pid too */
	snprintf(a, sizeof a, "%ld/cgroup", other);
	return read_at(s->hostproc, a, cg, sizeof cg) <= 0 || strcmp(cg, v->cgroup) != 0;
}

/* "/proc/<n>…": is <n> outside the caller's container? */
static int foreign_pid(struct sup *s, pid_t pid, const char *rest)
{
	char *end;
	long other = strtol(rest, &end, 10);
	if (end == rest || (*end && *end != '/'))
		return 0;
	static struct pid_view v;
	if (pid_view_of(s, pid, &v) < 0)
		return 0;
	return pid_hidden(s, &v, other);
}

int proc_view(struct sup *s, pid_t pid, const char *path, int *err)
{
	if (strncmp(path, "/proc/", 6))
		return -1;
	const char *name = path + 6;
	if (!strcmp(name, "meminfo"))
		return meminfo(s, pid);
	char text[256];
	int n = 0, last = 0;
	if (!strcmp(name, "uptime")) {
		double up = container_uptime(s, pid);
		n = snprintf(text, sizeof text, "%.2f %.2f\n", up, 0.0);
	} else if (!strcmp(name, "loadavg")) {
		int procs = count_procs(s, pid, &last);
		n = snprintf(text, sizeof text, "0.00 0.00 0.00 1/%d %d\n", procs, last);
	} else if (name[0] >= '1' && name[0] <= '9' && foreign_pid(s, pid, name)) {
		*err = ENOENT;
		return -2;
	} else {
		return -1;
	}
	return memfd_of(s, text, (size_t)n);
}
