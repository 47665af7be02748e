/* berth-vm-keeper --exec <control-socket> <exec-message> [console-socket]:
 * one exec'd process's relay. It asks the keeper to run the process, relays
 * its own stdio (or a pty sent to the console socket) to it, and exits with
 * the process's exit code: the pid `berth-vm exec --pid-file` reports.
 * fd 3, when open, receives "ok <guest-pid>\n" or "error <message>\n". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "keeper.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

static void report(const char *line) {
  if (fcntl(3, F_GETFD) >= 0) { write_all(3, line, strlen(line)); close(3); }
  else if (strncmp(line, "error ", 6) == 0) fprintf(stderr, "berth-vm: %s", line + 6);
}

/* The pty's size, as the caller set it on the master, to the process in the guest. */
static void send_winsize(int c, int tty) {
  struct winsize ws;
  if (tty < 0 || ioctl(tty, TIOCGWINSZ, &ws) < 0) return;
  uint16_t rc[2] = { ws.ws_row, ws.ws_col };
  vm_write_msg(c, VM_MSG_RESIZE, 0, rc, sizeof rc);
}

int exec_main(int argc, char **argv) {
  if (argc < 4) die("usage: berth-vm-keeper --exec <control-socket> <exec-message> [console-socket]");
  signal(SIGPIPE, SIG_IGN);
  struct vm_msg req, m;
  if (load_pairs(argv[3], &req) < 0) die("cannot read %s: %s", argv[3], strerror(errno));
  int in = 0, out = 1, err = 2, tty = -1, wfd = -1;
  if (argc > 4) {
    /* the pty becomes our controlling terminal, so the caller's resizes of its master reach us as SIGWINCH */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGWINCH);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    wfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (setsid() < 0) { /* already a session leader (started detached) */ }
    in = out = err = tty = console_slave(argv[4]);
    ioctl(tty, TIOCSCTTY, 0);
  }
  int c = unix_connect(argv[2]);
  if (c < 0) { report("error the container's vm is not running\n"); return 125; }
  vm_write_msg(c, VM_MSG_EXEC, 0, req.data, req.len);
  if (vm_read_msg(c, &m) < 0) { report("error the vm keeper went away\n"); return 125; }
  char line[600];
  if (m.type != VM_MSG_CREATED) {
    snprintf(line, sizeof line, "error %s\n", m.data ? m.data : "exec refused");
    report(line);
    return 126;
  }
  uint32_t pid = 0;
  if (m.len >= 4) memcpy(&pid, m.data, 4);
  snprintf(line, sizeof line, "ok %u\n", pid);
  report(line);
  vm_free_msg(&m);
  send_winsize(c, tty);
  for (;;) {
    struct pollfd pf[3] = { { .fd = c, .events = POLLIN }, { .fd = in, .events = POLLIN }, { .fd = wfd, .events = POLLIN } };
    if (poll(pf, 3, -1) < 0) continue;
    /* a resize before the input that follows it */
    if (pf[2].revents) {
      struct signalfd_siginfo si;
      while (read(wfd, &si, sizeof si) == sizeof si) { }
      send_winsize(c, tty);
    }
    if (pf[0].revents) {
      if (vm_read_msg(c, &m) < 0) return 137; /* the vm went away with the process */
      if (m.type == VM_MSG_EXIT) {
        int32_t st = 0;
        if (m.len >= 4) memcpy(&st, m.data, 4);
        return exit_code_of(st);
      }
      int fd = m.type == VM_MSG_STDERR ? err : out;
      if (m.len) write_all(fd, m.data, m.len);
      else if (fd != in) close(fd);
      vm_free_msg(&m);
    }
    if (pf[1].revents) {
      char buf[32768];
      ssize_t n = read(in, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      vm_write_msg(c, VM_MSG_STDIN, 0, buf, n > 0 ? (uint32_t)n : 0);
      if (n <= 0) in = -1;
    }
  }
}
