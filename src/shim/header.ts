/** Renders native/include/berth/shim.h from protocol.ts (see scripts/gen-native-headers.ts). */
import { records, constants } from '../runtime/plan/header.js';
import { ShimRequest, ShimReply, ShimAttachFrame, ShimRecords } from './protocol.js';

export function renderShimHeader(): string {
  return [
    '/* Generated from src/shim/protocol.ts by scripts/gen-native-headers.ts. Do not edit. */',
    '#ifndef BERTH_SHIM_PROTOCOL_H',
    '#define BERTH_SHIM_PROTOCOL_H',
    '',
    '/* Requests (core -> shim) */',
    ...constants('SHIM_REQ_', ShimRequest),
    '',
    '/* Replies (shim -> core) */',
    ...constants('SHIM_REP_', ShimReply),
    '',
    '/* Frames of an attach connection */',
    ...constants('SHIM_ATT_', ShimAttachFrame),
    '',
    '/* Records */',
    ...records('SHIM_REC_', ShimRecords),
    '',
    '#endif',
    '',
  ].join('\n');
}
