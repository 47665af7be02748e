/* Loading the plan's seccomp filter. Without no_new_privs the kernel wants
 * CAP_SYS_ADMIN to install a filter, so it is loaded before the capability
 * drop; with no_new_privs it is loaded last, just before execve, so the
 * filter has the fewest of the runtime's own syscalls to allow. */
#include "executor.h"

#include <berth/wire.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int seccomp_load(const struct plan *p, int late, int sync, struct failure *f)
{
	struct wrec r;
	if (!wire_find(&p->msg, BERTH_PLAN_SECCOMP, &r))
		return 0;
	struct wcur c;
	wcur_init(&c, &r);
	uint32_t flags = wcur_u32(&c), n;
	const uint8_t *prog = wcur_bytes(&c, &n);
	char *listener = wcur_str(&c);
	char *meta = wcur_str(&c);
	if (c.bad || n % sizeof(struct sock_filter) || n / sizeof(struct sock_filter) > 0xffff)
		return fail(f, EINVAL, "plan", "SECCOMP is malformed");
	/* a listener fd must reach the front, which exits at READY: load early then */
	int wants_listener = (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0;
	int is_late = plan_has(p, BERTH_PLAN_NO_NEW_PRIVS) && !wants_listener;
	if (is_late != late) {
		free(listener);
		free(meta);
		return 0;
	}
	/* copy: the filter must be aligned for the kernel */
	struct sock_filter *filter = malloc(n ? n : 1);
	if (!filter)
		return fail(f, ENOMEM, "seccomp", "out of memory");
	memcpy(filter, prog, n);
	struct sock_fprog fprog = { .len = (unsigned short)(n / sizeof *filter), .filter = filter };
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	free(filter);
	if (fd < 0)
		return fail(f, errno, "seccomp", "load filter: %s", strerror(errno));
	if (wants_listener) {
		struct wbuf b;
		wbuf_init(&b, SYNC_SECCOMP);
		wbuf_rec(&b, BERTH_REC_MESSAGE);
		wbuf_str(&b, listener);
		wbuf_rec(&b, BERTH_REC_DATA);
		wbuf_str(&b, meta);
		int rc = sync >= 0 ? sync_send(sync, &b, (int)fd) : -1;
		wbuf_free(&b);
		close((int)fd);
		if (rc < 0)
			return fail(f, errno, "seccomp", "hand the listener to the front: %s", strerror(errno));
	}
	free(listener);
	free(meta);
	return 0;
}
