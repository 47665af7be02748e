// The classic-BPF interpreter and the kernel's load checks, on hand-written programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFilter, checkFilter } from '../../src/runtime/seccomp/index.js';
import {
  BPF_ABS, BPF_ALU, BPF_AND, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGT, BPF_JSET, BPF_JMP, BPF_K, BPF_LD, BPF_LDX, BPF_MEM, BPF_MISC,
  BPF_RET, BPF_A, BPF_ST, BPF_TAX, BPF_TXA, BPF_W, BPF_X, BPF_ADD, BPF_DIV, BPF_H, type Insn, encodeProgram, decodeProgram,
} from '../../src/runtime/seccomp/bpf.js';

const I = (code: number, k = 0, jt = 0, jf = 0): Insn => ({ code, jt, jf, k });
const ALLOW = 0x7fff0000;
const ERRNO = 0x00050000;

test('sock_filter encoding is 8 little-endian bytes per instruction and round-trips', () => {
  const prog = [I(BPF_LD | BPF_W | BPF_ABS, 4), I(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 1, 0), I(BPF_RET | BPF_K, 0), I(BPF_RET | BPF_K, ALLOW)];
  const buf = encodeProgram(prog);
  assert.equal(buf.length, 32);
  assert.deepEqual([...buf.subarray(8, 16)], [0x15, 0x00, 0x01, 0x00, 0x3e, 0x00, 0x00, 0xc0]);
  assert.deepEqual(decodeProgram(buf), prog);
});

test('loads, jumps and returns over seccomp_data', () => {
  // if (arch == X86_64 && nr == 39) ERRNO(arg1 low word & 0xff) else ALLOW
  const prog = [
    I(BPF_LD | BPF_W | BPF_ABS, 4),
    I(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 0, 6),
    I(BPF_LD | BPF_W | BPF_ABS, 0),
    I(BPF_JMP | BPF_JEQ | BPF_K, 39, 0, 4),
    I(BPF_LD | BPF_W | BPF_ABS, 24),
    I(BPF_ALU | BPF_AND | BPF_K, 0xff),
    I(BPF_ALU | 0x40 /* OR */ | BPF_K, ERRNO),
    I(BPF_RET | BPF_A),
    I(BPF_RET | BPF_K, ALLOW),
  ];
  checkFilter(prog);
  assert.deepEqual(runFilter(prog, { nr: 39, arch: 0xc000003e, args: [0, 0x1_0000_0123n] }), { ret: ERRNO | 0x23, action: 'SCMP_ACT_ERRNO', data: 0x23 });
  assert.equal(runFilter(prog, { nr: 40, arch: 0xc000003e }).action, 'SCMP_ACT_ALLOW');
  assert.equal(runFilter(prog, { nr: 39, arch: 0x40000003 }).action, 'SCMP_ACT_ALLOW');
  // ret A with A = 0x12345678: an unknown action, which the kernel takes as kill-process.
  assert.equal(runFilter([I(BPF_LD | BPF_W | BPF_IMM, 0x12345678), I(BPF_RET | BPF_A)], { nr: 0, arch: 0 }).action, 'SCMP_ACT_KILL_PROCESS');
});

test('X register, scratch memory, jset and ja', () => {
  const prog = [
    I(BPF_LD | BPF_W | BPF_ABS, 16), // A = arg0 low
    I(BPF_ST, 3), // M[3] = A
    I(BPF_LDX | BPF_W | BPF_IMM, 7), // X = 7
    I(BPF_ALU | BPF_ADD | BPF_X), // A += X
    I(BPF_MISC | BPF_TAX), // X = A
    I(BPF_LD | BPF_MEM, 3), // A = M[3]
    I(BPF_JMP | BPF_JSET | BPF_K, 0x8, 0, 1), // bit 3 of arg0?
    I(BPF_JMP | BPF_JA, 1),
    I(BPF_RET | BPF_K, ALLOW),
    I(BPF_MISC | BPF_TXA), // A = arg0 + 7
    I(BPF_ALU | BPF_AND | BPF_K, 0xffff),
    I(BPF_ALU | 0x40 | BPF_K, ERRNO),
    I(BPF_RET | BPF_A),
  ];
  checkFilter(prog);
  assert.equal(runFilter(prog, { nr: 0, arch: 0, args: [1] }).action, 'SCMP_ACT_ALLOW');
  assert.deepEqual(runFilter(prog, { nr: 0, arch: 0, args: [8] }), { ret: ERRNO | 15, action: 'SCMP_ACT_ERRNO', data: 15 });
});

test('division by a zero X ends the filter with kill, as in the kernel', () => {
  const prog = [I(BPF_LDX | BPF_W | BPF_IMM, 0), I(BPF_LD | BPF_W | BPF_IMM, 10), I(BPF_ALU | BPF_DIV | BPF_X), I(BPF_RET | BPF_K, ALLOW)];
  checkFilter(prog);
  assert.equal(runFilter(prog, { nr: 0, arch: 0 }).ret, 0);
});

test('the load checks refuse what the kernel refuses', () => {
  const ret = I(BPF_RET | BPF_K, ALLOW);
  const bad: [string, Insn[]][] = [
    ['empty', []],
    ['too long', Array.from({ length: 4097 }, () => ret)],
    ['no final return', [I(BPF_LD | BPF_W | BPF_ABS, 0)]],
    ['unaligned load', [I(BPF_LD | BPF_W | BPF_ABS, 2), ret]],
    ['load past seccomp_data', [I(BPF_LD | BPF_W | BPF_ABS, 64), ret]],
    ['half-word load', [I(BPF_LD | BPF_H | BPF_ABS, 0), ret]],
    ['conditional jump out', [I(BPF_JMP | BPF_JGT | BPF_K, 1, 5, 0), ret]],
    ['ja out', [I(BPF_JMP | BPF_JA, 1), ret]],
    ['division by constant zero', [I(BPF_ALU | BPF_DIV | BPF_K, 0), ret]],
    ['scratch slot 16', [I(BPF_ST, 16), ret]],
  ];
  for (const [why, prog] of bad) assert.throws(() => checkFilter(prog), /seccomp filter/, why);
  assert.throws(() => checkFilter(Buffer.alloc(12)), /multiple of 8/);
  checkFilter([ret]);
});
