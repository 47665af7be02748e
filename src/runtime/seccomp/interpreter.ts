/**
 * A classic-BPF interpreter over `struct seccomp_data`, with the kernel's
 * load-time checks (seccomp_check_filter, bpf_check_classic): it answers what
 * a filter decides for a call without loading it, for tests, for the sandbox
 * and for tooling that explains a profile.
 */
import { invalidArgument } from '../../common/errors.js';
import { describeReturn } from './actions.js';
import {
  BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_DIV, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET,
  BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MAXINSNS, BPF_MEM, BPF_MEMWORDS, BPF_MISC, BPF_MOD, BPF_MUL, BPF_NEG, BPF_OR,
  BPF_RET, BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W, BPF_X, BPF_XOR, type Insn, SECCOMP_DATA_SIZE,
  decodeProgram,
} from './bpf.js';

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint | number;
  /** Up to six 64-bit arguments; missing ones are 0. */
  args?: readonly (bigint | number)[];
}

export interface SeccompDecision {
  /** The raw 32-bit return value. */
  ret: number;
  /** SCMP_ACT_* name of the action. */
  action: string;
  /** The 16 data bits: the errno for ERRNO, the message for TRACE. */
  data: number;
}

const cls = (code: number): number => code & 0x07;
const op = (code: number): number => code & 0xf0;
const src = (code: number): number => code & 0x08;

/** Throws unless the kernel would accept the program as a seccomp filter. */
export function checkFilter(program: Buffer | readonly Insn[]): void {
  const prog = Buffer.isBuffer(program) ? decodeProgram(program) : program;
  const n = prog.length;
  if (Buffer.isBuffer(program) && program.length % 8 !== 0) throw invalidArgument('seccomp filter: length is not a multiple of 8 bytes');
  if (n === 0 || n > BPF_MAXINSNS) throw invalidArgument(`seccomp filter: ${n} instructions, must be 1 to ${BPF_MAXINSNS}`);
  for (let pc = 0; pc < n; pc++) {
    const { code, jt, jf, k } = prog[pc]!;
    const bad = (why: string): never => { throw invalidArgument(`seccomp filter: instruction ${pc} (code 0x${code.toString(16)}): ${why}`); };
    switch (cls(code)) {
      case BPF_LD:
      case BPF_LDX: {
        const mode = code & 0xe0;
        const size = code & 0x18;
        if (mode === BPF_ABS) {
          if (cls(code) !== BPF_LD || size !== BPF_W) bad('seccomp loads only 32-bit words');
          if (k >= SECCOMP_DATA_SIZE || k % 4 !== 0) bad(`load offset ${k} outside seccomp_data or unaligned`);
        } else if (mode === BPF_MEM) {
          if (k >= BPF_MEMWORDS) bad('scratch slot out of range');
        } else if (mode !== BPF_IMM && mode !== BPF_LEN) {
          bad('load mode not allowed in seccomp');
        }
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (k >= BPF_MEMWORDS) bad('scratch slot out of range');
        break;
      case BPF_ALU:
        if ((op(code) === BPF_DIV || op(code) === BPF_MOD) && src(code) === 0 && k === 0) bad('division by zero');
        if (op(code) > BPF_XOR) bad('unknown alu operation');
        break;
      case BPF_JMP:
        if (op(code) === BPF_JA) {
          if (k >= n - pc - 1) bad('jump out of the program');
        } else {
          if (op(code) > BPF_JSET) bad('unknown jump');
          if (pc + 1 + jt >= n || pc + 1 + jf >= n) bad('jump out of the program');
        }
        break;
      case BPF_RET:
        break;
      case BPF_MISC:
        if ((code & 0xf8) !== BPF_TAX && (code & 0xf8) !== BPF_TXA) bad('unknown misc operation');
        break;
    }
  }
  if (cls(prog[n - 1]!.code) !== BPF_RET) throw invalidArgument('seccomp filter: the last instruction is not a return');
}

function dataBuffer(d: SeccompData): Buffer {
  const b = Buffer.alloc(SECCOMP_DATA_SIZE);
  b.writeUInt32LE(d.nr >>> 0, 0);
  b.writeUInt32LE(d.arch >>> 0, 4);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(d.instructionPointer ?? 0)), 8);
  (d.args ?? []).slice(0, 6).forEach((a, i) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)), 16 + 8 * i));
  return b;
}

/** Runs the filter on one call; the program must pass checkFilter. */
export function runFilter(program: Buffer | readonly Insn[], data: SeccompData): SeccompDecision {
  const prog = Buffer.isBuffer(program) ? decodeProgram(program) : program;
  const mem = dataBuffer(data);
  const scratch = new Uint32Array(BPF_MEMWORDS);
  let A = 0;
  let X = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc]!;
    switch (cls(code)) {
      case BPF_LD:
        switch (code & 0xe0) {
          case BPF_ABS: A = mem.readUInt32LE(k); break;
          case BPF_IMM: A = k; break;
          case BPF_MEM: A = scratch[k]!; break;
          case BPF_LEN: A = SECCOMP_DATA_SIZE; break;
          default: throw invalidArgument(`seccomp filter: instruction ${pc}: load mode not allowed`);
        }
        break;
      case BPF_LDX:
        switch (code & 0xe0) {
          case BPF_IMM: X = k; break;
          case BPF_MEM: X = scratch[k]!; break;
          case BPF_LEN: X = SECCOMP_DATA_SIZE; break;
          default: throw invalidArgument(`seccomp filter: instruction ${pc}: load mode not allowed`);
        }
        break;
      case BPF_ST: scratch[k] = A; break;
      case BPF_STX: scratch[k] = X; break;
      case BPF_ALU:
        // The kernel ends the filter with 0 (kill) on division by a zero X.
        if ((op(code) === BPF_DIV || op(code) === BPF_MOD) && src(code) === BPF_X && X === 0) return { ret: 0, ...describeReturn(0) };
        A = alu(op(code), A, src(code) === BPF_X ? X : k);
        break;
      case BPF_JMP: {
        if (op(code) === BPF_JA) {
          pc += k;
          break;
        }
        const v = src(code) === BPF_X ? X : k;
        let taken: boolean;
        switch (op(code)) {
          case BPF_JEQ: taken = A === v >>> 0; break;
          case BPF_JGT: taken = A > v >>> 0; break;
          case BPF_JGE: taken = A >= v >>> 0; break;
          case BPF_JSET: taken = (A & v) !== 0; break;
          default: throw invalidArgument(`seccomp filter: instruction ${pc}: unknown jump`);
        }
        pc += taken ? jt : jf;
        break;
      }
      case BPF_RET: {
        const ret = ((code & 0x18) === BPF_A ? A : k) >>> 0;
        return { ret, ...describeReturn(ret) };
      }
      case BPF_MISC:
        if ((code & 0xf8) === BPF_TAX) X = A;
        else A = X;
        break;
    }
    A >>>= 0;
    X >>>= 0;
  }
  throw invalidArgument('seccomp filter: ran off the end of the program');
}

function alu(o: number, a: number, v: number): number {
  switch (o) {
    case BPF_ADD: return (a + v) >>> 0;
    case BPF_SUB: return (a - v) >>> 0;
    case BPF_MUL: return Math.imul(a, v) >>> 0;
    case BPF_DIV: return Math.floor(a / v) >>> 0;
    case BPF_MOD: return (a % v) >>> 0;
    case BPF_OR: return (a | v) >>> 0;
    case BPF_AND: return (a & v) >>> 0;
    case BPF_XOR: return (a ^ v) >>> 0;
    case BPF_LSH: return v >= 32 ? 0 : (a << v) >>> 0;
    case BPF_RSH: return v >= 32 ? 0 : a >>> v;
    case BPF_NEG: return -a >>> 0;
    default: throw invalidArgument(`seccomp filter: unknown alu operation 0x${o.toString(16)}`);
  }
}
