/* Where things are: the install's dist/ (from our own executable's real
 * path, so a symlink to bin/berth works) and the zygote's socket. */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#ifndef BERTH_NODE_PATH
#define BERTH_NODE_PATH "/usr/bin/node"
#endif

extern char **environ;

/* A directory we may trust with the socket: a real directory (not a link)
 * owned by us that nobody else can write to (with private, nobody else can
 * even enter). Anyone able to write there could put their own socket in
 * place and receive our terminal. */
static int trusted_dir(const char *dir, int private)
{
	struct stat st;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid())
		return 0;
	return (st.st_mode & (private ? 077 : 022)) == 0;
}

/* FNV-1a: one zygote per install, so two checkouts (or a CI run beside a
 * developer) never run each other's code. */
static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* $XDG_RUNTIME_DIR, else /run/berth for root, else /tmp/berth-cli-<uid>
 * (made 0700 here). "" when none is trustworthy. */
static void socket_dir(char *dir, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	uid_t uid = getuid();
	dir[0] = 0;
	if (xdg && xdg[0] == '/') {
		if (trusted_dir(xdg, 0))
			snprintf(dir, size, "%s", xdg);
		return;
	}
	if (uid == 0) {
		mkdir("/run/berth", 0755);
		if (trusted_dir("/run/berth", 0))
			snprintf(dir, size, "/run/berth");
		return;
	}
	char tmp[64];
	snprintf(tmp, sizeof tmp, "/tmp/berth-cli-%u", (unsigned)uid);
	mkdir(tmp, 0700);
	if (trusted_dir(tmp, 1))
		snprintf(dir, size, "%s", tmp);
}

void place_find(struct place *pl)
{
	char exe[PATH_MAX - 8];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		/* without /proc the install is unknown: the launcher beside a
		 * default install is all we can try */
		snprintf(pl->dist, sizeof pl->dist, "/usr/lib/berth/dist");
		pl->sock[0] = 0;
		return;
	}
	exe[n] = 0;
	/* <install>/bin/berth -> <install>/dist */
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(pl->dist, sizeof pl->dist, "%s/dist", exe);

	char dir[PATH_MAX];
	socket_dir(dir, sizeof dir);
	pl->sock[0] = 0;
	if (!dir[0] || getenv("BERTH_NO_ZYGOTE"))
		return;
	int len = snprintf(pl->sock, sizeof pl->sock, "%s/berth-cli-%u-%08x.sock", dir, (unsigned)getuid(), fnv1a(pl->dist));
	/* a path too long for sockaddr_un: go without (the temp name the zygote
	 * binds first is longer still, so leave room for it) */
	if (len < 0 || (size_t)len + 16 >= sizeof pl->sock)
		pl->sock[0] = 0;
}

/* argv for node: the launcher, then our arguments. */
static char **launcher_argv(const struct place *pl, char **argv, char *launcher, size_t size)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	char **av = calloc((size_t)argc + 2, sizeof *av);
	if (!av)
		return NULL;
	snprintf(launcher, size, "%s/berth-launcher.cjs", pl->dist);
	av[0] = "node";
	av[1] = launcher;
	for (int i = 1; i < argc; i++)
		av[i + 1] = argv[i];
	return av;
}

void run_launcher(const struct place *pl, char **argv)
{
	char launcher[PATH_MAX + 32];
	char **av = launcher_argv(pl, argv, launcher, sizeof launcher);
	if (!av) {
		perror("berth");
		exit(1);
	}
	/* as the launcher's own shebang does: Node would otherwise parse every
	 * CA certificate at start for TLS the CLI never speaks */
	unsetenv("NODE_EXTRA_CA_CERTS");
	execv(BERTH_NODE_PATH, av);
	execvp("node", av);
	fprintf(stderr, "berth: cannot run node: %s\n", strerror(errno));
	exit(127);
}

void start_zygote(const struct place *pl)
{
	if (!pl->sock[0])
		return;
	pid_t child = fork();
	if (child < 0)
		return;
	if (child == 0) {
		/* the grandchild is nobody's child of ours: no zombie, no wait */
		if (fork() != 0)
			_exit(0);
		setsid();
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		close_range(3, ~0U, 0);
		/* not to pin the cwd's mount for ten minutes */
		if (chdir("/") < 0)
			_exit(1);
		setenv("BERTH_CLI_ZYGOTE", pl->sock, 1);
		unsetenv("NODE_EXTRA_CA_CERTS");
		char launcher[PATH_MAX + 32];
		char *argv[] = { "berth", NULL };
		char **av = launcher_argv(pl, argv, launcher, sizeof launcher);
		if (av) {
			execv(BERTH_NODE_PATH, av);
			execvp("node", av);
		}
		_exit(127);
	}
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
}
