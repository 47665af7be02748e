/**
 * A classic-BPF assembler with labels. Conditional jumps in classic BPF hold
 * an 8-bit forward offset, so a target more than 255 instructions away is
 * reached through a trampoline: the conditional jumps to the instruction just
 * after it, which is an unconditional `ja` (32-bit offset) to the real target
 * — or a copy of the target when that is a `ret`, which saves a step.
 * Trampolines move later code, which can push other jumps out of range, so
 * layout repeats until nothing changes (each pass only ever adds
 * trampolines, so it ends).
 */
import { BPF_ABS, BPF_ALU, BPF_JA, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W, type Insn } from './bpf.js';

export type Label = number;

interface Item {
  code: number;
  k: number;
  /** Conditional jumps: labels for true/false; undefined means "the next item". */
  jt?: Label | undefined;
  jf?: Label | undefined;
  /** Unconditional `ja`: its target label. */
  ja?: Label | undefined;
}

const isCond = (code: number): boolean => (code & 0x07) === BPF_JMP && (code & 0xf0) !== BPF_JA;
const isRet = (code: number): boolean => (code & 0x07) === BPF_RET;

export class Assembler {
  private readonly items: Item[] = [];
  /** label → index of the item it stands before; -1 while unbound. */
  private readonly labels: number[] = [];

  label(): Label {
    this.labels.push(-1);
    return this.labels.length - 1;
  }

  bind(l: Label): void {
    if (this.labels[l] !== -1) throw new Error(`bpf label ${l} bound twice`);
    this.labels[l] = this.items.length;
  }

  /** A = the 32-bit word at `offset` of seccomp_data. */
  load(offset: number): void {
    this.items.push({ code: BPF_LD | BPF_W | BPF_ABS, k: offset });
  }

  /** A = A <op> k (op is BPF_AND, BPF_OR …). */
  alu(op: number, k: number): void {
    this.items.push({ code: BPF_ALU | op | BPF_K, k: k >>> 0 });
  }

  ret(k: number): void {
    this.items.push({ code: BPF_RET | BPF_K, k: k >>> 0 });
  }

  /** if (A <op> k) goto jt else goto jf; an undefined label falls through. */
  jump(op: number, k: number, jt: Label | undefined, jf: Label | undefined): void {
    this.items.push({ code: BPF_JMP | op | BPF_K, k: k >>> 0, jt, jf });
  }

  goto(l: Label): void {
    this.items.push({ code: BPF_JMP | BPF_JA, k: 0, ja: l });
  }

  get length(): number {
    return this.items.length;
  }

  assemble(): Insn[] {
    const n = this.items.length;
    const target = (l: Label | undefined, i: number): number => {
      if (l === undefined) return i + 1;
      const t = this.labels[l];
      if (t === undefined || t < 0) throw new Error(`bpf label ${l} never bound`);
      if (t <= i) throw new Error(`bpf jump from ${i} to ${t} is not forward`);
      if (t >= n) throw new Error(`bpf label ${l} bound past the last instruction`);
      return t;
    };
    const tIdx = new Int32Array(n);
    const fIdx = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const it = this.items[i]!;
      if (isCond(it.code)) {
        tIdx[i] = target(it.jt, i);
        fIdx[i] = target(it.jf, i);
      } else if (it.ja !== undefined) {
        tIdx[i] = target(it.ja, i);
      }
    }
    const longT = new Uint8Array(n);
    const longF = new Uint8Array(n);
    const pos = new Int32Array(n + 1);
    for (;;) {
      let p = 0;
      for (let i = 0; i < n; i++) {
        pos[i] = p;
        p += 1 + longT[i]! + longF[i]!;
      }
      pos[n] = p;
      let changed = false;
      for (let i = 0; i < n; i++) {
        if (!isCond(this.items[i]!.code)) continue;
        if (!longT[i] && pos[tIdx[i]!]! - pos[i]! - 1 > 255) { longT[i] = 1; changed = true; }
        if (!longF[i] && pos[fIdx[i]!]! - pos[i]! - 1 > 255) { longF[i] = 1; changed = true; }
      }
      if (!changed) break;
    }
    const out: Insn[] = [];
    const far = (from: number, to: number): Insn => {
      const t = this.items[to]!;
      if (isRet(t.code)) return { code: t.code, jt: 0, jf: 0, k: t.k };
      return { code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: pos[to]! - from - 1 };
    };
    for (let i = 0; i < n; i++) {
      const it = this.items[i]!;
      const p = pos[i]!;
      if (isCond(it.code)) {
        const lt = longT[i]!;
        const lf = longF[i]!;
        const jt = lt ? 0 : pos[tIdx[i]!]! - p - 1;
        const jf = lf ? lt : pos[fIdx[i]!]! - p - 1;
        out.push({ code: it.code, jt, jf, k: it.k });
        if (lt) out.push(far(p + 1, tIdx[i]!));
        if (lf) out.push(far(p + 1 + lt, fIdx[i]!));
      } else if (it.ja !== undefined) {
        out.push({ code: it.code, jt: 0, jf: 0, k: pos[tIdx[i]!]! - p - 1 });
      } else {
        out.push({ code: it.code, jt: 0, jf: 0, k: it.k });
      }
    }
    return out;
  }
}
