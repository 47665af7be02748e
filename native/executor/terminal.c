/* The container's terminal: a pty opened inside the container (after the
 * root switch, so the slave belongs to the container's devpts), its slave
 * made the stdio and controlling tty, its master handed to the front. */
#include "executor.h"

#include <berth/wire.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <termios.h>
#include <unistd.h>

/* /dev/console of the container is its pty, as on a real system's console.
 * We are past the root switch: the path can only resolve inside the root;
 * a symlink or file there is replaced, never followed. */
static int bind_console(const char *slave, struct failure *f)
{
	unlink("/dev/console");
	int fd = open("/dev/console", O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(f, errno, "terminal", "create /dev/console: %s", strerror(errno));
	char target[64];
	snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
	int rc = mount(slave, target, NULL, MS_BIND, NULL);
	int err = errno;
	close(fd);
	return rc < 0 ? fail(f, err, "terminal", "bind %s on /dev/console: %s", slave, strerror(err)) : 0;
}

int setup_terminal(const struct wrec *r, int sync, int is_init, struct failure *f)
{
	struct wcur c;
	wcur_init(&c, r);
	struct winsize ws = { 0 };
	ws.ws_row = (unsigned short)wcur_u32(&c);
	ws.ws_col = (unsigned short)wcur_u32(&c);
	if (c.bad)
		return fail(f, EINVAL, "plan", "TERMINAL is malformed");
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return fail(f, errno, "open /dev/ptmx", "%s", strerror(errno));
	char name[128];
	if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0)
		return fail(f, errno, "terminal", "unlock pty: %s", strerror(errno));
	int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return fail(f, errno, "terminal", "open %s: %s", name, strerror(errno));
	if ((ws.ws_row || ws.ws_col) && ioctl(slave, TIOCSWINSZ, &ws) < 0)
		return fail(f, errno, "terminal", "set size: %s", strerror(errno));
	if (is_init && bind_console(name, f) < 0)
		return -1;
	/* a controlling tty needs a session of our own */
	if (getsid(0) != getpid())
		setsid();
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return fail(f, errno, "terminal", "dup2: %s", strerror(errno));
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		return fail(f, errno, "terminal", "set controlling tty: %s", strerror(errno));
	if (slave > 2)
		close(slave);
	struct wbuf b;
	wbuf_init(&b, SYNC_MASTER);
	wbuf_rec(&b, BERTH_REC_DATA);
	wbuf_str(&b, name);
	int rc = sync_send(sync, &b, master);
	wbuf_free(&b);
	close(master);
	if (rc < 0)
		return fail(f, errno, "terminal", "hand the master to the front: %s", strerror(errno));
	return 0;
}
