/* berth-vm guest agent, PID 1 of the VM: boot, then serve the host's
 * frames on the virtio-serial port "berth.agent" until the VM is stopped. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "agent.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int port = -1;
static struct proc procs[MAX_PROCS];

static struct proc *proc_by_id(uint32_t id) {
  for (int i = 0; i < MAX_PROCS; i++) if (procs[i].used && procs[i].id == id) return &procs[i];
  return NULL;
}

static struct proc *proc_new(uint32_t id) {
  for (int i = 0; i < MAX_PROCS; i++) {
    if (!procs[i].used) {
      memset(&procs[i], 0, sizeof procs[i]);
      procs[i].id = id;
      procs[i].in = procs[i].out = procs[i].err = procs[i].start_fd = -1;
      return &procs[i];
    }
  }
  return NULL;
}

static void send_or_die(uint16_t type, uint32_t id, const void *data, uint32_t len) {
  if (vm_write_msg(port, type, id, data, len) < 0) {
    agent_log("host channel: %s", strerror(errno));
    reboot(RB_POWER_OFF);
  }
}

static void reply_error(uint32_t id, const char *msg) {
  send_or_die(VM_MSG_ERROR, id, msg, (uint32_t)strlen(msg));
}

static void reply_created(struct proc *p) {
  uint32_t pid = (uint32_t)p->pid;
  send_or_die(VM_MSG_CREATED, p->id, &pid, sizeof pid);
}

/* Forwards what a process wrote; the end of a stream is an empty frame. */
static void pump(struct proc *p, int *fd, uint16_t type) {
  char buf[32768];
  for (;;) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) { /* EOF, or EIO on a pty whose last slave closed */
      send_or_die(type, p->id, NULL, 0);
      if (p->tty) p->in = -1;
      close(*fd);
      *fd = -1;
      return;
    }
    send_or_die(type, p->id, buf, (uint32_t)n);
  }
}

static void maybe_finish(struct proc *p, int status) {
  /* output first, then the exit: drain what is already there */
  if (p->out >= 0) pump(p, &p->out, VM_MSG_STDOUT);
  if (p->err >= 0) pump(p, &p->err, VM_MSG_STDERR);
  int32_t st = status;
  send_or_die(VM_MSG_EXIT, p->id, &st, sizeof st);
  p->exited = 1;
  if (p->start_fd >= 0) { close(p->start_fd); p->start_fd = -1; }
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int i = 0; i < MAX_PROCS; i++) {
      if (procs[i].used && !procs[i].exited && procs[i].pid == pid) maybe_finish(&procs[i], status);
    }
  }
}

static void on_create(struct vm_msg *m) {
  char err[512];
  if (proc_by_id(0)) { reply_error(0, "the container is already created"); return; }
  if (container_setup(m, err, sizeof err) < 0) { reply_error(0, err); return; }
  struct proc *p = proc_new(0);
  if (container_spawn(m, p, 1, err, sizeof err) < 0) { p->used = 0; reply_error(0, err); return; }
  reply_created(p);
}

static void on_exec(struct vm_msg *m) {
  char err[512];
  struct proc *p = proc_by_id(m->id);
  if (p && !p->exited) { reply_error(m->id, "process id already in use"); return; }
  if (p) p->used = 0;
  if (!proc_by_id(0)) { reply_error(m->id, "the container is not created"); return; }
  p = proc_new(m->id);
  if (!p) { reply_error(m->id, "too many processes"); return; }
  if (container_spawn(m, p, 0, err, sizeof err) < 0) { p->used = 0; reply_error(m->id, err); return; }
  reply_created(p);
}

static void on_frame(struct vm_msg *m) {
  struct proc *p = proc_by_id(m->id);
  switch (m->type) {
  case VM_MSG_CREATE: on_create(m); break;
  case VM_MSG_EXEC: on_exec(m); break;
  case VM_MSG_START:
    if (!p || p->start_fd < 0) { reply_error(m->id, "the container is not waiting to start"); break; }
    if (write(p->start_fd, "s", 1) != 1) { reply_error(m->id, "the container's init is gone"); break; }
    close(p->start_fd);
    p->start_fd = -1;
    send_or_die(VM_MSG_OK, m->id, NULL, 0);
    break;
  case VM_MSG_STDIN:
    if (!p || p->in < 0) break;
    if (m->len == 0) {
      if (p->tty) { char eof = 4; if (write(p->in, &eof, 1) < 0) { /* gone */ } }
      else { close(p->in); p->in = -1; }
      break;
    }
    for (uint32_t off = 0; off < m->len;) {
      ssize_t w = write(p->in, m->data + off, m->len - off);
      if (w < 0 && (errno == EINTR || errno == EAGAIN)) { if (errno == EAGAIN) usleep(1000); continue; }
      if (w < 0) break;
      off += (uint32_t)w;
    }
    break;
  case VM_MSG_SIGNAL: {
    uint32_t sig[2] = {0, 0};
    memcpy(sig, m->data ? m->data : (char *)sig, m->len >= 8 ? 8 : m->len);
    int rc = sig[1] ? kill(-1, (int)sig[0]) : (p && !p->exited ? kill(p->pid, (int)sig[0]) : (errno = ESRCH, -1));
    if (rc < 0 && !(sig[1] && errno == ESRCH)) { reply_error(m->id, strerror(errno)); break; }
    send_or_die(VM_MSG_OK, m->id, NULL, 0);
    break;
  }
  case VM_MSG_RESIZE:
    if (p && p->tty && m->len >= 4) {
      uint16_t rc[2];
      memcpy(rc, m->data, 4);
      struct winsize ws = { .ws_row = rc[0], .ws_col = rc[1] };
      ioctl(p->in, TIOCSWINSZ, &ws);
    }
    break;
  default:
    reply_error(m->id, "unknown message type");
  }
}

static void hello(void) {
  struct utsname u;
  uname(&u);
  struct vm_buf b = {0};
  vm_buf_pair(&b, "release", u.release);
  vm_buf_pair(&b, "machine", u.machine);
  send_or_die(VM_MSG_HELLO, 0, b.p, (uint32_t)b.len);
  free(b.p);
}

int main(void) {
  if (getpid() != 1) { fprintf(stderr, "berth-vm-agent: runs as the VM's init only\n"); return 1; }
  boot_mounts();
  boot_modules("/modules/order");
  port = open_port("berth.agent", 20000);
  if (port < 0) { agent_log("no virtio-serial port named berth.agent"); reboot(RB_POWER_OFF); }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  hello();
  for (;;) {
    struct pollfd pf[2 + 2 * MAX_PROCS];
    struct proc *owner[2 + 2 * MAX_PROCS];
    nfds_t n = 0;
    pf[n++] = (struct pollfd){ .fd = port, .events = POLLIN };
    pf[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
    for (int i = 0; i < MAX_PROCS; i++) {
      if (!procs[i].used) continue;
      if (procs[i].out >= 0) { owner[n] = &procs[i]; pf[n++] = (struct pollfd){ .fd = procs[i].out, .events = POLLIN }; }
      if (procs[i].err >= 0) { owner[n] = &procs[i]; pf[n++] = (struct pollfd){ .fd = procs[i].err, .events = POLLIN }; }
    }
    if (poll(pf, n, -1) < 0) continue;
    if (pf[0].revents & POLLIN) {
      struct vm_msg m;
      if (vm_read_msg(port, &m) < 0) {
        /* the host closed the port: wait for it to come back rather than spin */
        if (errno == EPIPE) { usleep(100000); continue; }
        agent_log("bad frame from the host: %s", strerror(errno));
        reboot(RB_POWER_OFF);
      }
      on_frame(&m);
      vm_free_msg(&m);
    } else if (pf[0].revents & POLLHUP) {
      usleep(100000);
    }
    for (nfds_t i = 2; i < n; i++) {
      if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      struct proc *p = owner[i];
      if (pf[i].fd == p->out) pump(p, &p->out, VM_MSG_STDOUT);
      else if (pf[i].fd == p->err) pump(p, &p->err, VM_MSG_STDERR);
    }
    if (pf[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) { }
      reap();
    }
  }
}
