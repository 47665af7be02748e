/* The process steps of a plan, after the filesystem is in place: limits,
 * scheduling, LSM labels, seccomp, the user and capability switch, the
 * working directory and the checks on what is about to be executed. */
#include "executor.h"
#include "../sandbox/sandbox.h"

#include <berth/wire.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <grp.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static struct stat self_exe;
static int self_exe_known;

/* Stat'ed at the start, before anything of the container is visible: the
 * runtime's own binary must never become the container's process
 * (CVE-2019-5736 class: /proc/self/exe as the entrypoint). */
void remember_self_exe(void)
{
	self_exe_known = stat("/proc/self/exe", &self_exe) == 0;
}

/* The records the process steps read, picked out of the plan once. */
struct proc_recs {
	struct wrec user, caps, cwd, env, args, umask, keyring, sched, ioprio, persona, apparmor, selinux, affinity;
	int has_user, has_caps, has_cwd, has_env, has_args, has_umask, has_keyring, has_sched, has_ioprio,
		has_persona, has_apparmor, has_selinux, has_affinity, nnp;
	uint32_t preserve;
};

static void collect(const struct plan *p, struct proc_recs *x)
{
	memset(x, 0, sizeof *x);
	x->preserve = p->preserve_fds;
	size_t pos = 0;
	struct wrec r;
	while (plan_next(p, &pos, &r)) {
#define PICK(tag, field) case tag: x->field = r; x->has_##field = 1; break;
		switch (r.tag) {
		PICK(BERTH_PLAN_USER, user)
		PICK(BERTH_PLAN_CAPS, caps)
		PICK(BERTH_PLAN_CWD, cwd)
		PICK(BERTH_PLAN_ENV, env)
		PICK(BERTH_PLAN_ARGS, args)
		PICK(BERTH_PLAN_UMASK, umask)
		PICK(BERTH_PLAN_KEYRING, keyring)
		PICK(BERTH_PLAN_SCHEDULER, sched)
		PICK(BERTH_PLAN_IOPRIORITY, ioprio)
		PICK(BERTH_PLAN_PERSONALITY, persona)
		PICK(BERTH_PLAN_APPARMOR, apparmor)
		PICK(BERTH_PLAN_SELINUX, selinux)
		PICK(BERTH_PLAN_CPU_AFFINITY, affinity)
		case BERTH_PLAN_NO_NEW_PRIVS: x->nnp = 1; break;
		}
#undef PICK
	}
}

static int write_file(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, data, n);
	int err = errno;
	close(fd);
	errno = err;
	return w == (ssize_t)n ? 0 : -1;
}

static char *str_of(const struct wrec *r, int *bad)
{
	struct wcur c;
	wcur_init(&c, r);
	char *s = wcur_str(&c);
	*bad = c.bad;
	return s;
}

static int set_rlimits(const struct plan *p, struct failure *f)
{
	size_t pos = 0;
	struct wrec r;
	while (plan_next(p, &pos, &r)) {
		if (r.tag != BERTH_PLAN_RLIMIT)
			continue;
		struct wcur c;
		wcur_init(&c, &r);
		uint32_t res = wcur_u32(&c);
		struct rlimit rl = { .rlim_cur = wcur_u64(&c), .rlim_max = wcur_u64(&c) };
		if (c.bad)
			return fail(f, EINVAL, "plan", "RLIMIT is malformed");
		if (prlimit(0, (int)res, &rl, NULL) < 0)
			return fail(f, errno, "setrlimit", "resource %u: %s", res, strerror(errno));
	}
	return 0;
}

/* sched_setattr's argument, declared here: libc has no wrapper. */
struct berth_sched_attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

static int set_scheduling(const struct proc_recs *x, struct failure *f)
{
	struct wcur c;
	if (x->has_sched) {
		struct berth_sched_attr a = { .size = sizeof a };
		wcur_init(&c, &x->sched);
		a.policy = wcur_u32(&c);
		a.nice = wcur_i32(&c);
		a.priority = wcur_u32(&c);
		a.flags = wcur_u64(&c);
		a.runtime = wcur_u64(&c);
		a.deadline = wcur_u64(&c);
		a.period = wcur_u64(&c);
		if (c.bad)
			return fail(f, EINVAL, "plan", "SCHEDULER is malformed");
		if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
			return fail(f, errno, "sched_setattr", "%s", strerror(errno));
	}
	if (x->has_ioprio) {
		wcur_init(&c, &x->ioprio);
		uint32_t cls = wcur_u32(&c), prio = wcur_u32(&c);
		if (c.bad)
			return fail(f, EINVAL, "plan", "IOPRIORITY is malformed");
		if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)(cls << 13 | prio)) < 0)
			return fail(f, errno, "ioprio_set", "%s", strerror(errno));
	}
	return 0;
}

static int set_labels(const struct proc_recs *x, struct failure *f)
{
	int bad;
	char buf[4200];
	if (x->has_apparmor) {
		char *profile = str_of(&x->apparmor, &bad);
		int n = snprintf(buf, sizeof buf, "exec %s", profile);
		if (bad || n < 0 || (size_t)n >= sizeof buf)
			return fail(f, EINVAL, "plan", "APPARMOR is malformed");
		if (write_file("/proc/self/attr/apparmor/exec", buf, (size_t)n) < 0 &&
		    write_file("/proc/self/attr/exec", buf, (size_t)n) < 0)
			return fail(f, errno, "apparmor", "apply profile %s: %s", profile, strerror(errno));
		free(profile);
	}
	if (x->has_selinux) {
		char *label = str_of(&x->selinux, &bad);
		if (bad)
			return fail(f, EINVAL, "plan", "SELINUX is malformed");
		if (write_file("/proc/self/attr/exec", label, strlen(label)) < 0)
			return fail(f, errno, "selinux", "apply label %s: %s", label, strerror(errno));
		free(label);
	}
	return 0;
}

static int misc_attributes(const struct plan *p, const struct proc_recs *x, struct failure *f)
{
	struct wcur c;
	int bad;
	if (x->has_keyring) {
		char *name = str_of(&x->keyring, &bad);
		if (bad)
			return fail(f, EINVAL, "plan", "KEYRING is malformed");
		if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, *name ? name : NULL) < 0)
			return fail(f, errno, "join session keyring", "%s", strerror(errno));
		free(name);
	}
	if (set_rlimits(p, f) < 0)
		return -1;
	/* OOM_SCORE_ADJ: written by the front right after the clone (clone.c) */
	if (set_scheduling(x, f) < 0)
		return -1;
	if (x->has_persona) {
		wcur_init(&c, &x->persona);
		if (personality(wcur_u32(&c)) < 0)
			return fail(f, errno, "personality", "%s", strerror(errno));
	}
	return set_labels(x, f);
}

static int drop_bounding(const struct proc_recs *x, struct failure *f)
{
	if (!x->has_caps)
		return 0;
	struct wcur c;
	wcur_init(&c, &x->caps);
	uint64_t bounding = wcur_u64(&c);
	if (c.bad)
		return fail(f, EINVAL, "plan", "CAPS is malformed");
	for (int cap = 0; cap < 64; cap++) {
		if (bounding & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return fail(f, errno, "drop bounding capability", "cap %d: %s", cap, strerror(errno));
	}
	return 0;
}

static int switch_user(const struct proc_recs *x, struct failure *f)
{
	if (!x->has_user)
		return 0;
	struct wcur c;
	wcur_init(&c, &x->user);
	uint32_t uid = wcur_u32(&c), gid = wcur_u32(&c), n;
	uint32_t *groups = wcur_u32s(&c, &n);
	if (c.bad)
		return fail(f, EINVAL, "plan", "USER is malformed");
	/* keep the permitted set through the uid change; CAPS sets it right after */
	if (x->has_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail(f, errno, "keep capabilities", "%s", strerror(errno));
	/* a user namespace with setgroups denied refuses even an empty list */
	if (setgroups(n, (gid_t *)groups) < 0 && !(errno == EPERM && n == 0))
		return fail(f, errno, "setgroups", "%s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		return fail(f, errno, "setresgid", "gid %u: %s", gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		return fail(f, errno, "setresuid", "uid %u: %s", uid, strerror(errno));
	free(groups);
	return 0;
}

static int set_caps(const struct proc_recs *x, struct failure *f)
{
	if (!x->has_caps)
		return 0;
	struct wcur c;
	wcur_init(&c, &x->caps);
	wcur_u64(&c);
	uint64_t eff = wcur_u64(&c), perm = wcur_u64(&c), inh = wcur_u64(&c), amb = wcur_u64(&c);
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh },
		{ .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32) },
	};
	if (syscall(SYS_capset, &hdr, d) < 0)
		return fail(f, errno, "capset", "%s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(f, errno, "clear ambient capabilities", "%s", strerror(errno));
	/* The kernel raises an ambient capability only when it is both permitted
	 * and inheritable; configs (runc spec's among them) often list ambient
	 * without inheritable. Like runc, such a request is skipped, not fatal. */
	for (int cap = 0; cap < 64; cap++)
		if ((amb & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 && errno != EPERM)
			return fail(f, errno, "raise ambient capability", "cap %d: %s", cap, strerror(errno));
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}

/* chdir, then prove the directory is inside the root: a directory fd leaked
 * from the host (CVE-2024-21626 class) makes getcwd report "(unreachable)". */
static int enter_cwd(const struct proc_recs *x, int final, struct failure *f)
{
	if (!x->has_cwd)
		return 0;
	int bad;
	char *path = str_of(&x->cwd, &bad);
	if (bad)
		return fail(f, EINVAL, "plan", "CWD is malformed");
	if (chdir(path) < 0) {
		int err = errno;
		free(path);
		if (!final && err == EACCES)
			return 1; /* retried after the user switch */
		return fail(f, err, "chdir", "%s", strerror(err));
	}
	char buf[4096];
	if (!getcwd(buf, sizeof buf) || buf[0] != '/') {
		free(path);
		return fail(f, EPERM, "chdir", "the working directory is outside the container's root");
	}
	free(path);
	return 0;
}

static char **strs_of(const struct wrec *r, int *bad)
{
	struct wcur c;
	uint32_t n;
	wcur_init(&c, r);
	char **v = wcur_strs(&c, &n);
	*bad = c.bad;
	return v;
}

static int executable(const char *path, struct stat *st)
{
	if (stat(path, st) < 0)
		return -1;
	if (!S_ISREG(st->st_mode) || access(path, X_OK) < 0) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

/* argv[0] without a slash is looked up in the container's PATH. */
static int find_target(struct exec_target *t, struct failure *f)
{
	if (!t->argv || !t->argv[0] || !*t->argv[0])
		return fail(f, EINVAL, "exec", "the process has no args");
	const char *name = t->argv[0];
	struct stat st;
	if (strchr(name, '/')) {
		if (executable(name, &st) < 0)
			return fail(f, errno, "exec", "%s: %s", name, strerror(errno));
		t->path = strdup(name);
	} else {
		const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
		for (char **e = t->envp; e && *e; e++)
			if (!strncmp(*e, "PATH=", 5))
				path = *e + 5;
		char *dirs = strdup(path), *save = NULL;
		for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char cand[4096];
			snprintf(cand, sizeof cand, "%s/%s", *d ? d : ".", name);
			if (executable(cand, &st) == 0) {
				t->path = strdup(cand);
				break;
			}
		}
		free(dirs);
		if (!t->path)
			return fail(f, ENOENT, "exec", "%s: executable file not found in $PATH", name);
	}
	if (self_exe_known && st.st_dev == self_exe.st_dev && st.st_ino == self_exe.st_ino)
		return fail(f, EPERM, "exec", "%s is the runtime's own binary: refusing to run it", name);
	return 0;
}

static int set_affinity(const struct proc_recs *x, struct failure *f)
{
	if (!x->has_affinity)
		return 0;
	struct wcur c;
	uint32_t n;
	wcur_init(&c, &x->affinity);
	uint32_t *cpus = wcur_u32s(&c, &n);
	if (c.bad)
		return fail(f, EINVAL, "plan", "CPU_AFFINITY is malformed");
	cpu_set_t set;
	CPU_ZERO(&set);
	for (uint32_t i = 0; i < n; i++)
		if (cpus[i] < CPU_SETSIZE)
			CPU_SET(cpus[i], &set);
	free(cpus);
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		return fail(f, errno, "sched_setaffinity", "%s", strerror(errno));
	return 0;
}

/* What the front changed must not reach the container: default dispositions,
 * nothing blocked, stdio inheritable. */
static void reset_process(uint32_t preserve)
{
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int fd = 0; fd < 3; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && (fl & FD_CLOEXEC))
			fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
	}
	/* only stdio and the preserved fds survive the exec */
	syscall(SYS_close_range, 3 + preserve, ~0U, CLOSE_RANGE_CLOEXEC);
}

int process_setup(const struct plan *p, int sync, struct exec_target *t, struct failure *f)
{
	struct proc_recs x;
	collect(p, &x);
	int bad = 0;
	t->envp = x.has_env ? strs_of(&x.env, &bad) : calloc(1, sizeof(char *));
	if (bad || !x.has_args)
		return fail(f, EINVAL, "plan", "the plan has no valid ARGS/ENV");
	t->argv = strs_of(&x.args, &bad);
	if (bad)
		return fail(f, EINVAL, "plan", "ARGS is malformed");
	if (misc_attributes(p, &x, f) < 0)
		return -1;
	int cwd_later = enter_cwd(&x, 0, f);
	/* berth-sandbox's notify filter comes after the container's own */
	if (cwd_later < 0 || seccomp_load(p, 0, sync, f) < 0 || sandbox_load(p, 0, f) < 0)
		return -1;
	if (drop_bounding(&x, f) < 0 || switch_user(&x, f) < 0 || set_caps(&x, f) < 0)
		return -1;
	if (x.nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(f, errno, "no_new_privs", "%s", strerror(errno));
	if (x.has_umask) {
		struct wcur c;
		wcur_init(&c, &x.umask);
		umask((mode_t)(wcur_u32(&c) & 0777));
	}
	if (cwd_later && enter_cwd(&x, 1, f) < 0)
		return -1;
	if (set_affinity(&x, f) < 0 || find_target(t, f) < 0)
		return -1;
	reset_process(x.preserve);
	return 0;
}
