/**
 * cgroup v2 has no devices files: access to device nodes is decided by an
 * eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup.
 * This compiles the OCI device rules into that program with v1's meaning:
 * start from "deny everything", then each rule in order — so the last rule
 * that matches a request decides, and a request no rule matches is denied.
 *
 * The program sees struct bpf_cgroup_dev_ctx (linux/bpf.h):
 *   u32 access_type  (access << 16) | type   type: 1 block, 2 char
 *                                             access: 1 mknod, 2 read, 4 write
 *   u32 major, u32 minor
 * and returns 1 to allow, 0 to deny.
 *
 * Matching, as the v1 kernel code matches an exception: an allow rule
 * matches when it grants every access bit requested; a deny rule matches
 * when it covers any of them.
 */
import { invalidArgument } from '../../common/errors.js';
import { normalizeAccess } from './v1-resources.js';
import type { LinuxDeviceCgroup } from './types.js';

/** One eBPF instruction (struct bpf_insn). */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// opcode parts (linux/bpf_common.h, linux/bpf.h)
const BPF_LDX = 0x01, BPF_ALU = 0x04, BPF_JMP = 0x05, BPF_ALU64 = 0x07;
const BPF_W = 0x00, BPF_MEM = 0x60, BPF_K = 0x00, BPF_X = 0x08;
const BPF_AND = 0x50, BPF_RSH = 0x70, BPF_MOV = 0xb0;
const BPF_JA = 0x00, BPF_JEQ = 0x10, BPF_JNE = 0x50, BPF_EXIT = 0x90;

export const DEV_BLOCK = 1, DEV_CHAR = 2;
export const ACC_MKNOD = 1, ACC_READ = 2, ACC_WRITE = 4;

// registers: r1 = ctx (in), r0 = verdict (out), r2 type, r3 access, r4 major, r5 minor, r6 scratch
const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6;

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });
const ldxW = (dst: number, src: number, off: number): Insn => insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
const alu32K = (op: number, dst: number, imm: number): Insn => insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
const mov64X = (dst: number, src: number): Insn => insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
const mov64K = (dst: number, imm: number): Insn => insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
const jK = (op: number, dst: number, imm: number, off: number): Insn => insn(BPF_JMP | op | BPF_K, dst, 0, off, imm);
const exit = (): Insn => insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

/** The access bits a rule's "rwm" string grants. */
export function accessBits(access: string | undefined): number {
  const a = normalizeAccess(access);
  return (a.includes('r') ? ACC_READ : 0) | (a.includes('w') ? ACC_WRITE : 0) | (a.includes('m') ? ACC_MKNOD : 0);
}

function typeCode(type: string | undefined): number | undefined {
  switch (type ?? 'a') {
    case 'a': return undefined;
    case 'c': case 'u': return DEV_CHAR;
    case 'b': return DEV_BLOCK;
    default: throw invalidArgument(`invalid device cgroup rule type ${JSON.stringify(type)}`);
  }
}

const wildcard = (n: number | undefined): boolean => n === undefined || n === -1;

/**
 * The block of one rule: conditions that jump past the block when the
 * request does not match, then "return verdict".
 */
function ruleBlock(rule: LinuxDeviceCgroup): { insns: Insn[]; unconditional: boolean } {
  const checks: Array<(skip: number) => Insn[]> = [];
  const type = typeCode(rule.type);
  if (type !== undefined) checks.push((skip) => [jK(BPF_JNE, R2, type, skip)]);
  const bits = accessBits(rule.access);
  if (bits !== (ACC_MKNOD | ACC_READ | ACC_WRITE)) {
    checks.push((skip) => rule.allow
      // allow: every requested bit must be granted → (access & ~bits) == 0
      ? [mov64X(R6, R3), alu32K(BPF_AND, R6, ~bits & 7), jK(BPF_JNE, R6, 0, skip)]
      // deny: any requested bit covered → (access & bits) != 0
      : [mov64X(R6, R3), alu32K(BPF_AND, R6, bits), jK(BPF_JEQ, R6, 0, skip)]);
  }
  if (!wildcard(rule.major)) checks.push((skip) => [jK(BPF_JNE, R4, rule.major as number, skip)]);
  if (!wildcard(rule.minor)) checks.push((skip) => [jK(BPF_JNE, R5, rule.minor as number, skip)]);
  // Lay the checks out back to front: a failed check jumps past everything
  // that follows it in the block, i.e. to the next rule's block.
  let body: Insn[] = [mov64K(R0, rule.allow ? 1 : 0), exit()];
  for (const check of checks.reverse()) body = [...check(body.length), ...body];
  return { insns: body, unconditional: checks.length === 0 };
}

export function compileDeviceFilter(rules: LinuxDeviceCgroup[]): Insn[] {
  for (const r of rules) {
    for (const n of [r.major, r.minor]) {
      if (n !== undefined && n !== -1 && (!Number.isInteger(n) || n < 0 || n > 0x7fffffff)) {
        throw invalidArgument(`invalid device number ${n} in device cgroup rule`);
      }
    }
  }
  const prologue: Insn[] = [
    ldxW(R2, R1, 0), alu32K(BPF_AND, R2, 0xffff), // type
    ldxW(R3, R1, 0), alu32K(BPF_RSH, R3, 16), // access
    ldxW(R4, R1, 4), // major
    ldxW(R5, R1, 8), // minor
  ];
  const blocks: Insn[] = [];
  // Last match wins: test the rules from the last one back.
  for (const r of [...rules].reverse()) {
    if ((r.type ?? 'a') === 'p') continue; // fifos are not device nodes; the hook never asks about them
    const b = ruleBlock(r);
    blocks.push(...b.insns);
    // A rule matching everything decides alone; the verifier refuses the
    // unreachable code that earlier rules would leave after it.
    if (b.unconditional) return [...prologue, ...blocks];
  }
  return [...prologue, ...blocks, mov64K(R0, 0), exit()];
}

/** struct bpf_insn[] in the machine's byte order, as bpf(BPF_PROG_LOAD) takes it. */
export function encodeInsns(insns: Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  insns.forEach((ins, i) => {
    const o = i * 8;
    buf.writeUInt8(ins.code, o);
    // dst_reg is the low nibble on little endian, the high one on big endian
    buf.writeUInt8(le ? (ins.dst & 0xf) | ((ins.src & 0xf) << 4) : ((ins.dst & 0xf) << 4) | (ins.src & 0xf), o + 1);
    if (le) {
      buf.writeInt16LE(ins.off, o + 2);
      buf.writeInt32LE(ins.imm, o + 4);
    } else {
      buf.writeInt16BE(ins.off, o + 2);
      buf.writeInt32BE(ins.imm, o + 4);
    }
  });
  return buf;
}

/**
 * Runs the program on one request, as the kernel would: used by the unit
 * tests to check compiled programs without loading them.
 */
export function runDeviceFilter(insns: Insn[], req: { type: number; access: number; major: number; minor: number }): number {
  const regs = new Array<number>(11).fill(0);
  const ctx = [((req.access << 16) | req.type) >>> 0, req.major >>> 0, req.minor >>> 0];
  for (let pc = 0, steps = 0; pc < insns.length; pc++) {
    if (++steps > 10000) throw new Error('device filter does not terminate');
    const i = insns[pc] as Insn;
    const cls = i.code & 0x07, op = i.code & 0xf0;
    const srcVal = (i.code & BPF_X) ? (regs[i.src] as number) : i.imm;
    if (cls === BPF_LDX) {
      if (i.src !== R1) throw new Error('loads only from the context');
      regs[i.dst] = ctx[i.off / 4] as number;
    } else if (cls === BPF_ALU || cls === BPF_ALU64) {
      let v = regs[i.dst] as number;
      if (op === BPF_MOV) v = srcVal;
      else if (op === BPF_AND) v = Number(BigInt.asUintN(32, BigInt(v) & BigInt(srcVal >>> 0)));
      else if (op === BPF_RSH) v = v >>> srcVal;
      else throw new Error(`unsupported alu op ${op}`);
      regs[i.dst] = cls === BPF_ALU ? v >>> 0 : v;
    } else if (cls === BPF_JMP) {
      if (op === BPF_EXIT) return regs[R0] as number;
      const d = regs[i.dst] as number;
      const taken = op === BPF_JA ? true : op === BPF_JEQ ? d === srcVal : op === BPF_JNE ? d !== srcVal : (() => { throw new Error(`unsupported jump ${op}`); })();
      if (taken) pc += i.off;
    } else {
      throw new Error(`unsupported instruction class ${cls}`);
    }
  }
  throw new Error('device filter fell off its end');
}
