/**
 * The berth-vm wire protocol, declared once. It is spoken on two links:
 * host keeper ⇄ guest agent over virtio-serial, and berth-vm CLI ⇄ keeper
 * over the keeper's control socket. Every message is a frame:
 *
 *   u32 length (of the payload) | u16 type | u16 flags (0) | u32 id | payload
 *
 * little-endian (host and guest are both x86-64). `id` names a process
 * inside the VM: 0 is the container's init, exec'd processes get 1, 2, ….
 * Structured payloads are "key\0value\0" pairs (keys may repeat: arg, env,
 * mount), trivial for the static C agent to walk. The C header
 * native/vm-agent/protocol.h is rendered from this module (src/vm/header.ts)
 * and a test fails when they differ.
 */

export const HEADER_SIZE = 12;
/** larger frames are a broken peer, not data */
export const MAX_PAYLOAD = 1 << 20;

export const MsgType = {
  /** agent → host, once booted: payload "key\0value\0" (release, …) */
  Hello: 1,
  /** host → agent: set up the container (payload: process + container pairs), id 0 */
  Create: 2,
  /** agent → host: reply to Create/Exec: payload u32 guest pid */
  Created: 3,
  /** host → agent: run the created init */
  Start: 4,
  /** host → agent: start another process in the container (payload like Create's process part) */
  Exec: 5,
  /** host → agent: data for the process's stdin; empty closes it */
  Stdin: 6,
  /** agent → host: data from the process; empty is end of stream */
  Stdout: 7,
  Stderr: 8,
  /** host → agent: payload u32 signal, u32 all (1: every process of the guest) */
  Signal: 9,
  /** host → agent: payload u16 rows, u16 cols */
  Resize: 10,
  /** agent → host: the process ended, payload i32 wait status */
  Exit: 11,
  /** either way: payload a lowercase message */
  Error: 12,
  /** generic success reply on the control socket */
  Ok: 13,
  /** CLI → keeper: state request; reply State */
  Query: 14,
  /** keeper → CLI: payload pairs status, guestPid, qemuPid, virtiofsdPid */
  State: 15,
  /** CLI → keeper: the container's processes; reply Ps with pairs pid/cmd */
  Ps: 16,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

export interface Frame {
  type: MsgType;
  id: number;
  payload: Buffer;
}

export function encodeFrame(type: MsgType, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`vm frame too large: ${payload.length} bytes`);
  const head = Buffer.alloc(HEADER_SIZE);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(0, 6);
  head.writeUInt32LE(id, 8);
  return Buffer.concat([head, payload]);
}

/** Splits a byte stream into frames; keeps the incomplete tail for the next chunk. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= HEADER_SIZE) {
      const len = this.buf.readUInt32LE(0);
      if (len > MAX_PAYLOAD) throw new RangeError(`vm frame too large: ${len} bytes`);
      if (this.buf.length < HEADER_SIZE + len) break;
      out.push({
        type: this.buf.readUInt16LE(4) as MsgType,
        id: this.buf.readUInt32LE(8),
        payload: this.buf.subarray(HEADER_SIZE, HEADER_SIZE + len),
      });
      this.buf = this.buf.subarray(HEADER_SIZE + len);
    }
    return out;
  }
}

export type Pairs = [string, string][];

export function encodePairs(pairs: Pairs): Buffer {
  for (const [k, v] of pairs) {
    if (k.includes('\0') || v.includes('\0')) throw new RangeError(`vm message field ${k} contains a NUL byte`);
  }
  return Buffer.from(pairs.map(([k, v]) => `${k}\0${v}\0`).join(''), 'utf8');
}

export function decodePairs(buf: Buffer): Pairs {
  const parts = buf.toString('utf8').split('\0');
  const out: Pairs = [];
  for (let i = 0; i + 1 < parts.length; i += 2) out.push([parts[i]!, parts[i + 1]!]);
  return out;
}

/**
 * Keys of Create/Exec payloads. Process: arg, env, cwd, uid, gid, gid+ (extra
 * groups), tty ("1"), rows, cols. Container (Create only): hostname, rootfs_tag,
 * readonly ("1"), mount = "type\x1fsource\x1fdestination\x1foptions" (unit
 * separator: the fields may hold commas), sysctl = "key=value".
 * Network (Create only): net_if = "mac\x1fcidr", net_gw = gateway address.
 */
export const FIELD_SEP = '\x1f';
