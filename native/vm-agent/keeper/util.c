/* Small helpers of the keeper: plans, unix sockets, the console socket. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "keeper.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("berth-vm-keeper: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(125);
}

int load_pairs(const char *path, struct vm_msg *m) {
  memset(m, 0, sizeof *m);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size > VM_MAX_PAYLOAD) { close(fd); errno = EFBIG; return -1; }
  m->data = malloc((size_t)st.st_size + 1);
  ssize_t n = read(fd, m->data, (size_t)st.st_size);
  close(fd);
  if (n != st.st_size) return -1;
  m->data[n] = 0;
  m->len = (uint32_t)n;
  return 0;
}

char **pairs_argv(const struct vm_msg *m, const char *key) {
  size_t n = 0;
  const char *k, *v;
  for (long off = 0; (off = vm_next_pair(m, off, &k, &v)) >= 0;) if (!strcmp(k, key)) n++;
  char **argv = calloc(n + 1, sizeof *argv);
  n = 0;
  for (long off = 0; (off = vm_next_pair(m, off, &k, &v)) >= 0;) if (!strcmp(k, key)) argv[n++] = (char *)v;
  return argv;
}

static int unix_addr(const char *path, struct sockaddr_un *a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof a->sun_path) { errno = ENAMETOOLONG; return -1; }
  strcpy(a->sun_path, path);
  return 0;
}

int unix_listen(const char *path) {
  struct sockaddr_un a;
  if (unix_addr(path, &a) < 0) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unlink(path);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) return -1;
  chmod(path, 0600);
  return fd;
}

int unix_connect(const char *path) {
  struct sockaddr_un a;
  if (unix_addr(path, &a) < 0) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) return -1;
  return fd;
}

int console_slave(const char *socket_path) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) die("cannot open a pty: %s", strerror(errno));
  int slave = open(ptsname(master), O_RDWR | O_CLOEXEC);
  if (slave < 0) die("cannot open the pty slave: %s", strerror(errno));
  /* the guest's own pty does the line discipline: the host side passes bytes */
  struct termios t;
  if (tcgetattr(slave, &t) == 0) { cfmakeraw(&t); tcsetattr(slave, TCSANOW, &t); }
  int sock = unix_connect(socket_path);
  if (sock < 0) die("cannot connect to console socket %s: %s", socket_path, strerror(errno));
  char name[] = "/dev/ptmx";
  struct iovec iov = { .iov_base = name, .iov_len = sizeof name - 1 };
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof master);
  if (sendmsg(sock, &msg, 0) < 0) die("cannot send the pty to %s: %s", socket_path, strerror(errno));
  close(sock);
  close(master);
  return slave;
}

int write_all(int fd, const void *buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t w = write(fd, (const char *)buf + put, n - put);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    put += (size_t)w;
  }
  return 0;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}
