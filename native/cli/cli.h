/* bin/berth: a small front for the berth CLI. A Node process pays ~25 ms of
 * start-up (more under load) before the first line of the command runs; a
 * pre-started one ("zygote", scripts/berth-launcher.cjs with
 * BERTH_CLI_ZYGOTE set) has paid it already. The front hands the zygote its
 * argv, environment, cwd, umask and stdio and waits for the exit code. When
 * no zygote answers it runs the launcher itself (the old way) and starts one
 * for next time, so a missing zygote costs time, never a failure. */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <limits.h>
#include <stddef.h>
#include <sys/un.h>

struct place {
	char dist[PATH_MAX];                          /* <install>/dist */
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "" when no zygote may be used */
};

/* Finds dist/ and the zygote's socket path (checking its directory). */
void place_find(struct place *pl);
/* Execs node on dist/berth-launcher.cjs with argv[1..]; never returns. */
void run_launcher(const struct place *pl, char **argv) __attribute__((noreturn));
/* Starts a zygote for pl->sock, detached (double fork, setsid, stdio /dev/null). */
void start_zygote(const struct place *pl);

/* Copies the connection in to our stdout/stderr until it ends (stream.c):
 * demultiplexed when multiplexed, raw bytes otherwise. 0 at its end (with
 * *bad_stream set to a frame header's stream id above 3, which ends it
 * too, else -1), -1 when our output is gone. */
int copy_stream(int in, int multiplexed, int *bad_stream);

#endif
