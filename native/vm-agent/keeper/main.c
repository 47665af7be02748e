/* berth-vm-keeper <plan>: boots one VM for one container (see keeper.h).
 * fd 3, when open, is the ready pipe of `berth-vm create`: it receives
 * "ok <qemu-pid> <virtiofsd-pid> <guest-pid> <guest-release>\n" or
 * "error <message>\n". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "keeper.h"
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 32
#define MAX_PENDING 64

struct client { int fd; uint32_t exec_id; };

static struct vm_msg plan;
static int agent = -1, ctl = -1, sfd = -1;
static int in_fd = 0, out_fd = 1, err_fd = 2, tty_fd = -1;
static pid_t qemu_pid, fsd_pid;
static int started, init_status = -1;
static uint32_t guest_pid, next_exec_id = 1;
static char release[128];
static struct client clients[MAX_CLIENTS];
static int pending[MAX_PENDING], pending_head, pending_len; /* who waits for the agent's next reply */

static void ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ready(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (fcntl(3, F_GETFD) >= 0) { write_all(3, buf, (size_t)n); close(3); }
}

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  char buf[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ready("error %s\n", buf);
  if (qemu_pid > 0) kill(qemu_pid, SIGKILL);
  if (fsd_pid > 0) kill(fsd_pid, SIGKILL);
  exit(125);
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static pid_t spawn(char **argv, const char *netns, int log_fd) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  /* qemu and virtiofsd talk to a log file, never to the container's stdio */
  int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  dup2(log_fd, 1);
  dup2(log_fd, 2);
  if (netns) {
    int ns = open(netns, O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) { dprintf(2, "cannot enter netns %s: %s\n", netns, strerror(errno)); _exit(127); }
  }
  execv(argv[0], argv);
  dprintf(2, "cannot exec %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

static void join_cgroups(void) {
  const char *k, *v;
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d", getpid());
  for (long off = 0; (off = vm_next_pair(&plan, off, &k, &v)) >= 0;) {
    if (strcmp(k, "cgroup_procs")) continue;
    int fd = open(v, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, pid, (size_t)n) < 0) fail("cannot join cgroup %s: %s", v, strerror(errno));
    close(fd);
  }
}

static int child_died(void) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    if (p == qemu_pid) { qemu_pid = 0; return 1; }
    if (p == fsd_pid) { fsd_pid = 0; return 1; }
  }
  return 0;
}

static void wait_for_file(const char *path, long deadline) {
  struct stat st;
  while (stat(path, &st) < 0) {
    if (child_died()) fail("virtiofsd exited at start (see vm.log)");
    if (now_ms() > deadline) fail("virtiofsd did not create %s in time", path);
    usleep(2000);
  }
}

static int accept_agent(int lfd, long deadline) {
  for (;;) {
    struct pollfd p = { .fd = lfd, .events = POLLIN };
    int r = poll(&p, 1, 50);
    if (r > 0) return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (child_died()) fail("qemu exited at start (see vm.log)");
    if (now_ms() > deadline) fail("qemu did not open the agent channel in time");
  }
}

/* Reads the agent's next frame, waiting at most until deadline. */
static void read_agent(struct vm_msg *m, long deadline, const char *what) {
  for (;;) {
    struct pollfd p = { .fd = agent, .events = POLLIN };
    int r = poll(&p, 1, 100);
    if (r > 0) {
      if (vm_read_msg(agent, m) < 0) fail("the guest agent closed the channel while %s", what);
      return;
    }
    if (child_died()) fail("qemu exited while %s (see vm.log and console.log)", what);
    if (now_ms() > deadline) fail("timed out while %s", what);
  }
}

static void boot(void) {
  const char *t = vm_pair(&plan, "boot_timeout_ms");
  long deadline = now_ms() + (t ? atol(t) : 60000);
  const char *logp = vm_pair(&plan, "log");
  int log_fd = open(logp ? logp : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const char *agent_path = vm_pair(&plan, "agent_socket");
  int lfd = unix_listen(agent_path);
  if (lfd < 0) fail("cannot listen on %s: %s", agent_path, strerror(errno));
  char **fsd = pairs_argv(&plan, "virtiofsd");
  if (fsd[0]) {
    fsd_pid = spawn(fsd, NULL, log_fd);
    wait_for_file(vm_pair(&plan, "virtiofsd_socket"), deadline);
  }
  qemu_pid = spawn(pairs_argv(&plan, "qemu"), vm_pair(&plan, "netns"), log_fd);
  agent = accept_agent(lfd, deadline);
  close(lfd);
  unlink(agent_path);
  struct vm_msg m;
  read_agent(&m, deadline, "booting the vm");
  if (m.type != VM_MSG_HELLO) fail("unexpected first message %u from the guest agent", m.type);
  const char *rel = vm_pair(&m, "release");
  snprintf(release, sizeof release, "%s", rel ? rel : "?");
  vm_free_msg(&m);
  struct vm_msg create;
  if (load_pairs(vm_pair(&plan, "create"), &create) < 0) fail("cannot read the create message: %s", strerror(errno));
  vm_write_msg(agent, VM_MSG_CREATE, 0, create.data, create.len);
  read_agent(&m, deadline, "creating the container");
  if (m.type == VM_MSG_ERROR) fail("%s", m.data ? m.data : "the guest agent refused the container");
  if (m.type != VM_MSG_CREATED || m.len < 4) fail("unexpected reply %u to create", m.type);
  memcpy(&guest_pid, m.data, 4);
  vm_free_msg(&m);
}

static void shutdown_and_exit(int status) {
  if (qemu_pid > 0) kill(qemu_pid, SIGTERM);
  if (fsd_pid > 0) kill(fsd_pid, SIGTERM);
  for (int i = 0; i < 200 && (qemu_pid > 0 || fsd_pid > 0); i++) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p == qemu_pid) qemu_pid = 0;
    else if (p == fsd_pid) fsd_pid = 0;
    else if (p <= 0) usleep(10000);
  }
  if (qemu_pid > 0) kill(qemu_pid, SIGKILL);
  if (fsd_pid > 0) kill(fsd_pid, SIGKILL);
  const char *c = vm_pair(&plan, "control_socket");
  if (c) unlink(c);
  exit(exit_code_of(status));
}

static struct client *client_of_id(uint32_t id) {
  for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0 && clients[i].exec_id == id) return &clients[i];
  return NULL;
}

static void drop_client(struct client *c) {
  close(c->fd);
  c->fd = -1;
  c->exec_id = 0;
}

static void push_pending(int fd) {
  if (pending_len < MAX_PENDING) pending[(pending_head + pending_len++) % MAX_PENDING] = fd;
}

static int pop_pending(void) {
  if (!pending_len) return -1;
  int fd = pending[pending_head];
  pending_head = (pending_head + 1) % MAX_PENDING;
  pending_len--;
  return fd;
}

static void on_agent_frame(struct vm_msg *m) {
  switch (m->type) {
  case VM_MSG_STDOUT:
  case VM_MSG_STDERR:
    if (m->id == 0) {
      int fd = tty_fd >= 0 ? tty_fd : m->type == VM_MSG_STDOUT ? out_fd : err_fd;
      if (fd < 0) break;
      if (m->len) { if (write_all(fd, m->data, m->len) < 0) { /* reader gone: keep running */ } }
      else if (tty_fd < 0) { close(fd); if (m->type == VM_MSG_STDOUT) out_fd = -1; else err_fd = -1; }
    } else {
      struct client *c = client_of_id(m->id);
      if (c) vm_write_msg(c->fd, m->type, m->id, m->data, m->len);
    }
    break;
  case VM_MSG_EXIT: {
    int32_t st = 0;
    if (m->len >= 4) memcpy(&st, m->data, 4);
    if (m->id == 0) { init_status = st; shutdown_and_exit(st); }
    struct client *c = client_of_id(m->id);
    if (c) { vm_write_msg(c->fd, m->type, m->id, m->data, m->len); drop_client(c); }
    break;
  }
  case VM_MSG_OK:
  case VM_MSG_ERROR:
  case VM_MSG_CREATED: {
    int fd = pop_pending();
    if (fd >= 0) vm_write_msg(fd, m->type, m->id, m->data, m->len);
    break;
  }
  default:
    break;
  }
}

static void reply_state(int fd) {
  struct vm_buf b = {0};
  char num[32];
  vm_buf_pair(&b, "status", started ? "running" : "created");
  snprintf(num, sizeof num, "%u", guest_pid);
  vm_buf_pair(&b, "guest_pid", num);
  snprintf(num, sizeof num, "%d", qemu_pid);
  vm_buf_pair(&b, "qemu_pid", num);
  vm_buf_pair(&b, "release", release);
  vm_write_msg(fd, VM_MSG_STATE, 0, b.p, (uint32_t)b.len);
  free(b.p);
}

static void on_client_frame(struct client *c, struct vm_msg *m) {
  switch (m->type) {
  case VM_MSG_QUERY: reply_state(c->fd); break;
  case VM_MSG_START:
    started = 1;
    push_pending(c->fd);
    vm_write_msg(agent, VM_MSG_START, 0, NULL, 0);
    break;
  case VM_MSG_SIGNAL:
    push_pending(c->fd);
    vm_write_msg(agent, VM_MSG_SIGNAL, m->id, m->data, m->len);
    break;
  case VM_MSG_RESIZE:
    /* an exec relay's resize is for its own process, which only the keeper knows by id */
    vm_write_msg(agent, VM_MSG_RESIZE, c->exec_id ? c->exec_id : m->id, m->data, m->len);
    break;
  case VM_MSG_EXEC:
    c->exec_id = next_exec_id++;
    push_pending(c->fd);
    vm_write_msg(agent, VM_MSG_EXEC, c->exec_id, m->data, m->len);
    break;
  case VM_MSG_STDIN:
    if (c->exec_id) vm_write_msg(agent, VM_MSG_STDIN, c->exec_id, m->data, m->len);
    break;
  default:
    vm_write_str(c->fd, VM_MSG_ERROR, m->id, "unknown request");
  }
}

static void forward_stdin(void) {
  char buf[32768];
  ssize_t n = read(in_fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    vm_write_msg(agent, VM_MSG_STDIN, 0, NULL, 0);
    if (tty_fd < 0) close(in_fd);
    in_fd = -1;
    return;
  }
  vm_write_msg(agent, VM_MSG_STDIN, 0, buf, (uint32_t)n);
}

static void send_winsize(void) {
  struct winsize ws;
  if (tty_fd < 0 || ioctl(tty_fd, TIOCGWINSZ, &ws) < 0) return;
  uint16_t rc[2] = { ws.ws_row, ws.ws_col };
  vm_write_msg(agent, VM_MSG_RESIZE, 0, rc, sizeof rc);
}

static void serve(void) {
  for (;;) {
    struct pollfd pf[4 + MAX_CLIENTS];
    nfds_t n = 0;
    pf[n++] = (struct pollfd){ .fd = agent, .events = POLLIN };
    pf[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
    pf[n++] = (struct pollfd){ .fd = ctl, .events = POLLIN };
    pf[n++] = (struct pollfd){ .fd = started ? in_fd : -1, .events = POLLIN };
    for (int i = 0; i < MAX_CLIENTS; i++) pf[n++] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
    if (poll(pf, n, -1) < 0) continue;
    if (pf[0].revents) {
      struct vm_msg m;
      if (vm_read_msg(agent, &m) < 0) shutdown_and_exit(init_status >= 0 ? init_status : SIGKILL);
      on_agent_frame(&m);
      vm_free_msg(&m);
    }
    if (pf[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) send_winsize();
        else if (si.ssi_signo == SIGCHLD && child_died()) shutdown_and_exit(SIGKILL); /* the VM died under the container */
        else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) shutdown_and_exit(si.ssi_signo);
      }
    }
    if (pf[2].revents & POLLIN) {
      int fd = accept4(ctl, NULL, NULL, SOCK_CLOEXEC);
      int placed = 0;
      for (int i = 0; fd >= 0 && i < MAX_CLIENTS && !placed; i++) if (clients[i].fd < 0) { clients[i].fd = fd; clients[i].exec_id = 0; placed = 1; }
      if (fd >= 0 && !placed) close(fd);
    }
    if (pf[3].revents) forward_stdin();
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (clients[i].fd < 0 || !pf[4 + i].revents) continue;
      struct vm_msg m;
      if (vm_read_msg(clients[i].fd, &m) < 0) { drop_client(&clients[i]); continue; }
      on_client_frame(&clients[i], &m);
      vm_free_msg(&m);
    }
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--exec") == 0) return exec_main(argc, argv);
  if (argc != 2) die("usage: berth-vm-keeper <plan> | --exec <control-socket> <exec-message>");
  if (load_pairs(argv[1], &plan) < 0) die("cannot read plan %s: %s", argv[1], strerror(errno));
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGWINCH);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;
  /* the ready pipe is ours alone: qemu holding it would keep `create` waiting */
  fcntl(3, F_SETFD, FD_CLOEXEC);
  join_cgroups();
  const char *console = vm_pair(&plan, "console_socket");
  if (console) {
    tty_fd = console_slave(console);
    /* our controlling terminal: the caller's resizes reach us as SIGWINCH */
    ioctl(tty_fd, TIOCSCTTY, 0);
    in_fd = tty_fd;
  }
  boot();
  ctl = unix_listen(vm_pair(&plan, "control_socket"));
  if (ctl < 0) fail("cannot listen on the control socket: %s", strerror(errno));
  ready("ok %d %d %u %s\n", qemu_pid, fsd_pid, guest_pid, release);
  if (tty_fd >= 0) send_winsize();
  serve();
}
