/* Frames of the berth-vm protocol (protocol.h) over a blocking fd, and the
 * "key\0value\0" pairs of structured payloads. Shared by the guest agent and
 * the host keeper. */
#ifndef BERTH_VM_FRAME_H
#define BERTH_VM_FRAME_H
#include <stddef.h>
#include <stdint.h>
#include "protocol.h"

struct vm_msg {
  uint16_t type;
  uint32_t id;
  uint32_t len;
  char *data; /* malloc'd, NUL-terminated one past len; NULL when len == 0 */
};

/* 0 on success, -1 with errno (EPIPE on a clean EOF before a header). */
int vm_read_msg(int fd, struct vm_msg *m);
int vm_write_msg(int fd, uint16_t type, uint32_t id, const void *data, uint32_t len);
int vm_write_str(int fd, uint16_t type, uint32_t id, const char *s);
void vm_free_msg(struct vm_msg *m);

/* Walks pairs: returns the offset of the next pair or -1 at the end. */
long vm_next_pair(const struct vm_msg *m, long off, const char **key, const char **val);
/* First value of key, or NULL. */
const char *vm_pair(const struct vm_msg *m, const char *key);
/* Appends "key\0value\0" to a growing buffer. */
struct vm_buf { char *p; size_t len, cap; };
void vm_buf_pair(struct vm_buf *b, const char *key, const char *val);
#endif
