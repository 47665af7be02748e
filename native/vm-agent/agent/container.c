/* The container inside the VM: its rootfs (virtiofs from the host), the
 * spec's mounts that make sense in a guest, hostname and sysctls; then its
 * processes, chrooted into it, with pipes or a pty for stdio. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "agent.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

static void mkdir_p(const char *path) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(tmp, 0755);
    *p = '/';
  }
  mkdir(tmp, 0755);
}

struct flag_name { const char *name; unsigned long set, clear; };
static const struct flag_name FLAGS[] = {
  {"ro", MS_RDONLY, 0}, {"rw", 0, MS_RDONLY}, {"nosuid", MS_NOSUID, 0}, {"suid", 0, MS_NOSUID},
  {"nodev", MS_NODEV, 0}, {"dev", 0, MS_NODEV}, {"noexec", MS_NOEXEC, 0}, {"exec", 0, MS_NOEXEC},
  {"relatime", MS_RELATIME, 0}, {"strictatime", MS_STRICTATIME, 0}, {"noatime", MS_NOATIME, 0},
  {"sync", MS_SYNCHRONOUS, 0}, {"async", 0, MS_SYNCHRONOUS},
  {"private", 0, 0}, {"rprivate", 0, 0}, {"shared", 0, 0}, {"rshared", 0, 0}, {"slave", 0, 0}, {"rslave", 0, 0},
};

/* Splits "a,b,c=d" into mount flags and the file system's data string. */
static unsigned long parse_options(const char *opts, char *data, size_t datalen) {
  unsigned long flags = 0;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", opts);
  data[0] = 0;
  for (char *save = NULL, *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    int known = 0;
    for (size_t i = 0; i < sizeof FLAGS / sizeof FLAGS[0]; i++) {
      if (strcmp(o, FLAGS[i].name) == 0) { flags = (flags | FLAGS[i].set) & ~FLAGS[i].clear; known = 1; break; }
    }
    if (known) continue;
    size_t l = strlen(data);
    snprintf(data + l, datalen - l, "%s%s", l ? "," : "", o);
  }
  return flags;
}

/* A tmpfs /dev gets the devices runc gives every container. */
static void populate_dev(const char *dev) {
  static const struct { const char *name; unsigned maj, min; } nodes[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
  };
  char p[1200];
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", dev, nodes[i].name);
    mknod(p, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min));
    chmod(p, 0666);
  }
  static const char *links[][2] = {
    {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
  };
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", dev, links[i][1]);
    if (symlink(links[i][0], p) < 0) { /* exists already */ }
  }
}

static int mount_one(char *spec, char *err, size_t errlen) {
  /* type \x1f source \x1f destination \x1f options */
  char *f[4] = {0};
  int n = 0;
  for (char *p = spec; n < 4; n++) {
    f[n] = p;
    char *s = strchr(p, VM_FIELD_SEP);
    if (!s) { n++; break; }
    *s = 0;
    p = s + 1;
  }
  if (n < 3) return 0;
  const char *type = f[0], *src = f[1], *dst = f[2], *opts = n > 3 ? f[3] : "";
  static const char *supported[] = {"proc", "sysfs", "tmpfs", "devpts", "mqueue"};
  int ok = 0;
  for (size_t i = 0; i < sizeof supported / sizeof supported[0]; i++) if (strcmp(type, supported[i]) == 0) ok = 1;
  if (!ok) { agent_log("mount %s of type %s skipped: not meaningful inside the vm", dst, type); return 0; }
  char target[1100], data[1024];
  snprintf(target, sizeof target, "%s%s", ROOTFS, dst);
  mkdir_p(target);
  unsigned long flags = parse_options(opts, data, sizeof data);
  if (strcmp(type, "devpts") == 0) {
    size_t l = strlen(data);
    snprintf(data + l, sizeof data - l, "%snewinstance,ptmxmode=0666", l ? "," : "");
  }
  if (mount(src, target, type, flags, data) < 0) {
    snprintf(err, errlen, "cannot mount %s on %s: %s", type, dst, strerror(errno));
    return -1;
  }
  if (strcmp(type, "tmpfs") == 0 && strcmp(dst, "/dev") == 0) populate_dev(target);
  return 0;
}

static void write_sysctl(const char *kv) {
  const char *eq = strchr(kv, '=');
  if (!eq) return;
  char path[512] = "/proc/sys/";
  size_t l = strlen(path);
  for (const char *k = kv; k < eq && l < sizeof path - 1; k++) path[l++] = *k == '.' ? '/' : *k;
  path[l] = 0;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, eq + 1, strlen(eq + 1)) < 0) agent_log("sysctl %s: %s", kv, strerror(errno));
  if (fd >= 0) close(fd);
}

int container_setup(const struct vm_msg *m, char *err, size_t errlen) {
  const char *tag = vm_pair(m, "rootfs_tag");
  const char *ro = vm_pair(m, "readonly");
  mkdir_p(ROOTFS);
  if (!tag || mount(tag, ROOTFS, "virtiofs", ro && *ro == '1' ? MS_RDONLY : 0, NULL) < 0) {
    snprintf(err, errlen, "cannot mount the rootfs (virtiofs %s): %s", tag ? tag : "(no tag)", strerror(errno));
    return -1;
  }
  if (net_setup(vm_pair(m, "net_if"), vm_pair(m, "net_gw"), err, errlen) < 0) return -1;
  const char *k, *v;
  for (long off = 0; (off = vm_next_pair(m, off, &k, &v)) >= 0;) {
    if (strcmp(k, "mount") == 0) {
      char *copy = strdup(v);
      int rc = mount_one(copy, err, errlen);
      free(copy);
      if (rc < 0) return -1;
    } else if (strcmp(k, "hostname") == 0) {
      if (sethostname(v, strlen(v)) < 0) { snprintf(err, errlen, "cannot set hostname %s: %s", v, strerror(errno)); return -1; }
    } else if (strcmp(k, "sysctl") == 0) {
      write_sysctl(v);
    }
  }
  return 0;
}

/* execvpe inside the new root, with PATH taken from the process's own env. */
static void exec_process(char **argv, char **envp) {
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char **e = envp; *e; e++) if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  if (strchr(argv[0], '/')) { execve(argv[0], argv, envp); return; }
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  int saved = ENOENT;
  for (char *save = NULL, *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    char full[4200];
    snprintf(full, sizeof full, "%s/%s", *dir ? dir : ".", argv[0]);
    execve(full, argv, envp);
    if (errno != ENOENT) saved = errno;
  }
  errno = saved;
}

static void child(const struct vm_msg *m, int start_rd, int slave, int in_rd, int out_wr, int err_wr) {
  setsid();
  if (slave >= 0) {
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0); dup2(slave, 1); dup2(slave, 2);
  } else {
    dup2(in_rd, 0); dup2(out_wr, 1); dup2(err_wr, 2);
  }
  int argc = 0, envc = 0, ngroups = 0;
  const char *k, *v;
  for (long off = 0; (off = vm_next_pair(m, off, &k, &v)) >= 0;) {
    if (!strcmp(k, "arg")) argc++;
    else if (!strcmp(k, "env")) envc++;
    else if (!strcmp(k, "gid+")) ngroups++;
  }
  char **argv = calloc((size_t)argc + 1, sizeof *argv), **envp = calloc((size_t)envc + 1, sizeof *envp);
  gid_t *groups = calloc((size_t)ngroups + 1, sizeof *groups);
  argc = envc = ngroups = 0;
  for (long off = 0; (off = vm_next_pair(m, off, &k, &v)) >= 0;) {
    if (!strcmp(k, "arg")) argv[argc++] = (char *)v;
    else if (!strcmp(k, "env")) envp[envc++] = (char *)v;
    else if (!strcmp(k, "gid+")) groups[ngroups++] = (gid_t)atoi(v);
  }
  if (argc == 0) { dprintf(2, "berth-vm: no process args\n"); _exit(127); }
  const char *cwd = vm_pair(m, "cwd");
  if (chroot(ROOTFS) < 0 || chdir(cwd && *cwd ? cwd : "/") < 0) {
    dprintf(2, "berth-vm: cannot enter the container root at %s: %s\n", cwd ? cwd : "/", strerror(errno));
    _exit(127);
  }
  if (start_rd >= 0) {
    char c;
    if (read(start_rd, &c, 1) != 1) _exit(137); /* the container was deleted before start */
    close(start_rd);
  }
  const char *uid = vm_pair(m, "uid"), *gid = vm_pair(m, "gid");
  if (setgroups((size_t)ngroups, groups) < 0 || setgid(gid ? (gid_t)atoi(gid) : 0) < 0 || setuid(uid ? (uid_t)atoi(uid) : 0) < 0) {
    dprintf(2, "berth-vm: cannot set user %s:%s: %s\n", uid ? uid : "0", gid ? gid : "0", strerror(errno));
    _exit(127);
  }
  exec_process(argv, envp);
  dprintf(2, "berth-vm: exec %s: %s\n", argv[0], strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

int container_spawn(const struct vm_msg *m, struct proc *p, int wait_start, char *err, size_t errlen) {
  const char *tty = vm_pair(m, "tty");
  int master = -1, slave = -1, in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, start[2] = {-1, -1};
  p->tty = tty && *tty == '1';
  if (p->tty) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) goto fail;
    slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) goto fail;
    const char *rows = vm_pair(m, "rows"), *cols = vm_pair(m, "cols");
    if (rows && cols) {
      struct winsize ws = { .ws_row = (unsigned short)atoi(rows), .ws_col = (unsigned short)atoi(cols) };
      ioctl(master, TIOCSWINSZ, &ws);
    }
  } else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
    goto fail;
  }
  if (wait_start && pipe2(start, O_CLOEXEC) < 0) goto fail;
  pid_t pid = fork();
  if (pid < 0) goto fail;
  if (pid == 0) child(m, start[0], slave, in[0], out[1], er[1]);
  if (p->tty) {
    close(slave);
    p->in = p->out = master;
    p->err = -1;
  } else {
    close(in[0]); close(out[1]); close(er[1]);
    p->in = in[1]; p->out = out[0]; p->err = er[0];
    fcntl(p->out, F_SETFL, O_NONBLOCK);
    fcntl(p->err, F_SETFL, O_NONBLOCK);
  }
  if (p->tty) fcntl(master, F_SETFL, O_NONBLOCK);
  if (wait_start) close(start[0]);
  p->start_fd = wait_start ? start[1] : -1;
  p->pid = pid;
  p->exited = 0;
  p->used = 1;
  return 0;
fail:
  snprintf(err, errlen, "cannot start the process: %s", strerror(errno));
  int fds[] = {master, slave, in[0], in[1], out[0], out[1], er[0], er[1], start[0], start[1]};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) if (fds[i] >= 0) close(fds[i]);
  return -1;
}
