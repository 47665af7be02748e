/* berth-vm guest agent: /init of the VM's initramfs. It boots the guest's
 * userland (mounts, modules), mounts the container's rootfs from virtiofs,
 * and runs the container's processes on the host's orders, which arrive as
 * frames (../protocol.h) on a virtio-serial port. */
#ifndef BERTH_VM_AGENT_H
#define BERTH_VM_AGENT_H
#include <sys/types.h>
#include "../frame.h"

#define ROOTFS "/run/rootfs"
#define MAX_PROCS 64

struct proc {
  int used;
  uint32_t id;
  pid_t pid;
  int in, out, err;  /* our ends: stdin write, stdout/stderr read (-1 when closed); tty: out == in == master */
  int tty;
  int start_fd;      /* write end of the init's start pipe, -1 once started */
  int exited;
};

/* boot.c */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void boot_mounts(void);
void boot_modules(const char *order_file);
int open_port(const char *name, int timeout_ms);

/* net.c: address, loopback, default route */
int net_setup(const char *net_if, const char *gw, char *err, size_t errlen);

/* container.c */
/* Mounts the rootfs and the spec's mounts, sets hostname and sysctls. 0 or -1 with a message in err. */
int container_setup(const struct vm_msg *m, char *err, size_t errlen);
/* Forks a process of the container; with wait_start it blocks before exec until proc->start_fd is written. */
int container_spawn(const struct vm_msg *m, struct proc *p, int wait_start, char *err, size_t errlen);
#endif
