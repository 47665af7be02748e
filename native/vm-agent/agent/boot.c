/* The guest's first steps as PID 1: the kernel file systems, the virtio
 * modules (in the order the host resolved from their .modinfo), the agent's
 * virtio-serial port. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "agent.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void agent_log(const char *fmt, ...) {
  /* the kernel console (a serial port the host writes to a file) */
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    char msg[540];
    int m = snprintf(msg, sizeof msg, "berth-vm-agent: %.*s", n, line);
    if (write(fd, msg, (size_t)m) < 0) { /* nothing better to do */ }
    close(fd);
  }
}

static void must_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, flags, data) < 0 && errno != EBUSY) agent_log("mount %s on %s: %s", type, dst, strerror(errno));
}

void boot_mounts(void) {
  must_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  must_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  must_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  must_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  must_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
}

void boot_modules(const char *order_file) {
  FILE *f = fopen(order_file, "re");
  if (!f) return;
  char path[512];
  while (fgets(path, sizeof path, f)) {
    path[strcspn(path, "\n")] = 0;
    if (!*path) continue;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { agent_log("module %s: %s", path, strerror(errno)); continue; }
    if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) agent_log("load %s: %s", path, strerror(errno));
    close(fd);
  }
  fclose(f);
}

static int find_port(const char *name, char *dev, size_t devlen) {
  DIR *d = opendir("/sys/class/virtio-ports");
  if (!d) return -1;
  struct dirent *e;
  int found = -1;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[300], buf[128] = {0};
    snprintf(p, sizeof p, "/sys/class/virtio-ports/%s/name", e->d_name);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
    if (strcmp(buf, name) == 0) { snprintf(dev, devlen, "/dev/%s", e->d_name); found = 0; break; }
  }
  closedir(d);
  return found;
}

int open_port(const char *name, int timeout_ms) {
  char dev[300];
  for (int waited = 0; waited <= timeout_ms; waited += 5) {
    if (find_port(name, dev, sizeof dev) == 0) {
      int fd = open(dev, O_RDWR | O_CLOEXEC);
      if (fd >= 0) return fd;
    }
    struct timespec ts = { 0, 5 * 1000 * 1000 };
    nanosleep(&ts, NULL);
  }
  return -1;
}
