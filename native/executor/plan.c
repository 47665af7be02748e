/* Loading an EXECUTE plan: the front needs a few facts (kind, namespaces,
 * terminal) before it clones; everything else is read where it is acted on. */
#include "executor.h"

#include <berth/wire.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int fail(struct failure *f, int err, const char *step, const char *fmt, ...)
{
	snprintf(f->step, sizeof f->step, "%s", step);
	f->err = err;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof f->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int plan_next(const struct plan *p, size_t *pos, struct wrec *r)
{
	return wire_next(&p->msg, pos, r) == 1;
}

int plan_has(const struct plan *p, uint16_t tag)
{
	struct wrec r;
	return wire_find(&p->msg, tag, &r);
}

static int read_u32(const struct wrec *r, uint32_t *v)
{
	struct wcur c;
	wcur_init(&c, r);
	*v = wcur_u32(&c);
	return c.bad ? -1 : 0;
}

static int unshares_mount_ns(const struct plan *p)
{
	size_t pos = 0;
	struct wrec r;
	uint32_t v;
	while (plan_next(p, &pos, &r))
		if (r.tag == BERTH_PLAN_UNSHARE && read_u32(&r, &v) == 0 && (v & CLONE_NEWNS))
			return 1;
	return 0;
}

int plan_load(struct plan *p, struct wmsg *m, struct failure *f)
{
	memset(p, 0, sizeof *p);
	p->msg = *m;
	memset(m, 0, sizeof *m);
	size_t pos = 0;
	struct wrec r;
	while (plan_next(p, &pos, &r)) {
		struct wcur c;
		uint32_t v = 0;
		int bad = 0;
		switch (r.tag) {
		case BERTH_PLAN_KIND:
			bad = read_u32(&r, &p->kind);
			break;
		case BERTH_PLAN_NS_NEW:
			bad = read_u32(&r, &v);
			p->ns_new |= v;
			break;
		case BERTH_PLAN_NS_JOIN:
			bad = read_u32(&r, &v);
			if (v == CLONE_NEWUSER)
				p->joins_user = 1;
			break;
		case BERTH_PLAN_TERMINAL:
			p->terminal = 1;
			break;
		case BERTH_PLAN_PRESERVE_FDS:
			bad = read_u32(&r, &p->preserve_fds);
			break;
		case BERTH_PLAN_CONSOLE_SOCKET:
			wcur_init(&c, &r);
			free(p->console_socket);
			p->console_socket = wcur_str(&c);
			bad = c.bad;
			break;
		}
		if (bad)
			return fail(f, EINVAL, "plan", "record %u is malformed", r.tag);
	}
	if (p->kind != BERTH_KIND_INIT && p->kind != BERTH_KIND_EXEC)
		return fail(f, EINVAL, "plan", "the plan has no valid KIND");
	/* the rootfs steps remount "/" and bind the rootfs: never in the host's namespace */
	if (plan_has(p, BERTH_PLAN_ROOTFS) && !(p->ns_new & CLONE_NEWNS) && !unshares_mount_ns(p))
		return fail(f, EINVAL, "plan", "a ROOTFS plan needs a new mount namespace");
	struct stat st;
	p->front_mntns = stat("/proc/self/ns/mnt", &st) == 0 ? (unsigned long)st.st_ino : 0;
	if (p->preserve_fds > 65536)
		return fail(f, EINVAL, "plan", "PRESERVE_FDS %u is out of range", p->preserve_fds);
	return 0;
}

void plan_free(struct plan *p)
{
	wire_free(&p->msg);
	free(p->console_socket);
	p->console_socket = NULL;
}
