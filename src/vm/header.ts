/** Renders native/vm-agent/protocol.h from src/vm/protocol.ts (checked by tests/integration/vm-protocol.test.ts). */
import { FIELD_SEP, HEADER_SIZE, MAX_PAYLOAD, MsgType } from './protocol.js';

const snake = (s: string): string => s.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

export function renderVmHeader(): string {
  const lines = [
    '/* Generated from src/vm/protocol.ts by src/vm/header.ts: do not edit. */',
    '#ifndef BERTH_VM_PROTOCOL_H',
    '#define BERTH_VM_PROTOCOL_H',
    '#include <stdint.h>',
    '',
    `#define VM_HEADER_SIZE ${HEADER_SIZE}`,
    `#define VM_MAX_PAYLOAD ${MAX_PAYLOAD}`,
    `#define VM_FIELD_SEP '\\x${FIELD_SEP.charCodeAt(0).toString(16)}'`,
    '',
    'enum vm_msg_type {',
    ...Object.entries(MsgType).map(([k, v]) => `  VM_MSG_${snake(k)} = ${v},`),
    '};',
    '',
    '/* little-endian on the wire; both ends are x86-64 */',
    'struct vm_frame_header {',
    '  uint32_t length;',
    '  uint16_t type;',
    '  uint16_t flags;',
    '  uint32_t id;',
    '} __attribute__((packed));',
    '',
    '#endif',
    '',
  ];
  return lines.join('\n');
}
