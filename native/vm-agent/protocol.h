/* Generated from src/vm/protocol.ts by src/vm/header.ts: do not edit. */
#ifndef BERTH_VM_PROTOCOL_H
#define BERTH_VM_PROTOCOL_H
#include <stdint.h>

#define VM_HEADER_SIZE 12
#define VM_MAX_PAYLOAD 1048576
#define VM_FIELD_SEP '\x1f'

enum vm_msg_type {
  VM_MSG_HELLO = 1,
  VM_MSG_CREATE = 2,
  VM_MSG_CREATED = 3,
  VM_MSG_START = 4,
  VM_MSG_EXEC = 5,
  VM_MSG_STDIN = 6,
  VM_MSG_STDOUT = 7,
  VM_MSG_STDERR = 8,
  VM_MSG_SIGNAL = 9,
  VM_MSG_RESIZE = 10,
  VM_MSG_EXIT = 11,
  VM_MSG_ERROR = 12,
  VM_MSG_OK = 13,
  VM_MSG_QUERY = 14,
  VM_MSG_STATE = 15,
  VM_MSG_PS = 16,
};

/* little-endian on the wire; both ends are x86-64 */
struct vm_frame_header {
  uint32_t length;
  uint16_t type;
  uint16_t flags;
  uint32_t id;
} __attribute__((packed));

#endif
