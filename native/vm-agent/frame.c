/* Frame and pair codec of the berth-vm protocol (see frame.h). */
#include "frame.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_full(int fd, void *buf, size_t n, int eof_ok) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) { errno = (got == 0 && eof_ok) ? EPIPE : EIO; return -1; }
    got += (size_t)r;
  }
  return 0;
}

static int write_full(int fd, const void *buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t w = write(fd, (const char *)buf + put, n - put);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    put += (size_t)w;
  }
  return 0;
}

int vm_read_msg(int fd, struct vm_msg *m) {
  struct vm_frame_header h;
  memset(m, 0, sizeof *m);
  if (read_full(fd, &h, sizeof h, 1) < 0) return -1;
  if (h.length > VM_MAX_PAYLOAD) { errno = EPROTO; return -1; }
  m->type = h.type;
  m->id = h.id;
  m->len = h.length;
  if (h.length) {
    m->data = malloc(h.length + 1);
    if (!m->data) return -1;
    if (read_full(fd, m->data, h.length, 0) < 0) { free(m->data); m->data = NULL; return -1; }
    m->data[h.length] = 0;
  }
  return 0;
}

int vm_write_msg(int fd, uint16_t type, uint32_t id, const void *data, uint32_t len) {
  struct vm_frame_header h = { .length = len, .type = type, .flags = 0, .id = id };
  /* one buffer, one write: frames from one writer never interleave */
  char stack[4096];
  char *buf = sizeof h + len <= sizeof stack ? stack : malloc(sizeof h + len);
  if (!buf) return -1;
  memcpy(buf, &h, sizeof h);
  if (len) memcpy(buf + sizeof h, data, len);
  int rc = write_full(fd, buf, sizeof h + len);
  if (buf != stack) free(buf);
  return rc;
}

int vm_write_str(int fd, uint16_t type, uint32_t id, const char *s) {
  return vm_write_msg(fd, type, id, s, (uint32_t)strlen(s));
}

void vm_free_msg(struct vm_msg *m) {
  free(m->data);
  m->data = NULL;
}

long vm_next_pair(const struct vm_msg *m, long off, const char **key, const char **val) {
  if (!m->data || off < 0 || (uint32_t)off >= m->len) return -1;
  const char *k = m->data + off;
  size_t kl = strnlen(k, m->len - (size_t)off);
  if ((uint32_t)off + kl + 1 >= m->len + 1u) return -1;
  const char *v = k + kl + 1;
  size_t rest = m->len - (size_t)(v - m->data);
  size_t vl = strnlen(v, rest);
  *key = k;
  *val = v;
  return (long)((v - m->data) + vl + 1);
}

const char *vm_pair(const struct vm_msg *m, const char *key) {
  const char *k, *v;
  for (long off = 0; (off = vm_next_pair(m, off, &k, &v)) >= 0;)
    if (strcmp(k, key) == 0) return v;
  return NULL;
}

void vm_buf_pair(struct vm_buf *b, const char *key, const char *val) {
  size_t kl = strlen(key) + 1, vl = strlen(val) + 1;
  if (b->len + kl + vl > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + kl + vl) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, key, kl);
  memcpy(b->p + b->len + kl, val, vl);
  b->len += kl + vl;
}
