/**
 * Classic BPF as seccomp uses it (linux/filter.h, linux/bpf_common.h): the
 * opcode bits, the instruction shape and its wire form, `struct sock_filter`
 * (u16 code, u8 jt, u8 jf, u32 k), little-endian on the architectures Berth
 * runs on.
 */

// instruction classes
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;

// ld/ldx fields
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_MSH = 0xa0;

// alu/jmp fields
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_A = 0x10;

// misc
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
/** Scratch memory slots (BPF_MEMWORDS). */
export const BPF_MEMWORDS = 16;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export const INSN_SIZE = 8;

/** struct sock_filter[] as the kernel reads it. */
export function encodeProgram(prog: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(prog.length * INSN_SIZE);
  for (let i = 0; i < prog.length; i++) {
    const ins = prog[i]!;
    const o = i * INSN_SIZE;
    buf.writeUInt16LE(ins.code, o);
    buf.writeUInt8(ins.jt, o + 2);
    buf.writeUInt8(ins.jf, o + 3);
    buf.writeUInt32LE(ins.k >>> 0, o + 4);
  }
  return buf;
}

export function decodeProgram(buf: Buffer): Insn[] {
  const prog: Insn[] = [];
  for (let o = 0; o + INSN_SIZE <= buf.length; o += INSN_SIZE) {
    prog.push({ code: buf.readUInt16LE(o), jt: buf.readUInt8(o + 2), jf: buf.readUInt8(o + 3), k: buf.readUInt32LE(o + 4) });
  }
  return prog;
}

/** seccomp_data offsets (linux/seccomp.h): nr, arch, instruction_pointer, args[6]. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_IP = 8;
export const SECCOMP_DATA_ARGS = 16;
export const SECCOMP_DATA_SIZE = 64;

/** Offset of the low (little-endian) 32-bit half of argument `i`; the high half is 4 bytes on. */
export function argLowOffset(i: number): number {
  return SECCOMP_DATA_ARGS + 8 * i;
}
