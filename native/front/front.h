/* The front of berth-runtime: a small C program that asks the warm
 * TypeScript planner what to do and carries the plan out (native/README.md). */
#ifndef BERTH_FRONT_H
#define BERTH_FRONT_H

#include "../executor/executor.h"

/* Where the front's own fds go: above the fds a caller passes with
 * --preserve-fds, which must reach the container untouched. */
#define FRONT_FD_BASE 100

/* Moves fd to >= FRONT_FD_BASE, close-on-exec; returns the new fd. */
int fd_high(int fd);
int write_full(int fd, const void *buf, size_t n);

/* Connects to the planner (daemon, started on demand, or inline); exits
 * with a message when no planner can be reached. */
int planner_connect(void);

/* Talks the planner conversation on `planner` (a connected socket) for the
 * invocation argv and exits as the planner says. */
void front_run(int planner, int argc, char **argv) __attribute__((noreturn));

/* Hands a pty master to a --console-socket listener (SCM_RIGHTS). */
int console_send(const char *path, int master, const char *name, struct failure *f);
/* Hands a seccomp listener fd to its agent, with the plan's metadata. */
int listener_send(const char *path, int fd, const char *meta, struct failure *f);

/* WAIT: waits for the child while forwarding signals and proxying its
 * terminal; returns the raw wait status. */
int wait_child(struct child *c, int *status);

#endif
