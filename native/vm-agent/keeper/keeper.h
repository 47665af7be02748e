/* berth-vm-keeper: the host side's per-VM process. It runs virtiofsd and
 * qemu as its children (inside the container's host cgroup), holds the
 * container's stdio that the caller of `berth-vm create` gave it, relays it
 * to the guest agent, serves the CLI's control socket, and exits with the
 * container's exit code, so an engine that waits for the pid of `create`'s
 * --pid-file (berth-shim, containerd's shim) gets the container's status.
 * In --exec mode it is the relay of one exec'd process instead.
 * It decides nothing: what to run is in the plan written by src/vm. */
#ifndef BERTH_VM_KEEPER_H
#define BERTH_VM_KEEPER_H
#include "../frame.h"

/* util.c */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
int load_pairs(const char *path, struct vm_msg *m);
/* argv of every value of key (NULL-terminated, pointing into m) */
char **pairs_argv(const struct vm_msg *m, const char *key);
int unix_listen(const char *path);
int unix_connect(const char *path);
/* A pty whose master goes to the console socket (the runc protocol); returns the slave, raw. */
int console_slave(const char *socket_path);
/* write all of buf (blocking); -1 on error */
int write_all(int fd, const void *buf, size_t n);
int exit_code_of(int status);

/* relay.c: --exec mode */
int exec_main(int argc, char **argv);
#endif
