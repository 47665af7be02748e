/**
 * Compiles an OCI `linux.seccomp` profile into a classic-BPF seccomp filter,
 * with the semantics a runc + libseccomp user sees:
 *
 * - `seccomp_data.arch` is checked first. A call from an architecture the
 *   profile does not list (the native one is always included) gets the
 *   bad-architecture action, SECCOMP_RET_KILL_THREAD: libseccomp's default,
 *   which runc keeps, so a foreign-ABI call dies with SIGSYS as under runc.
 *   On x86_64 the x32 ABI shares AUDIT_ARCH_X86_64 and is told apart by
 *   __X32_SYSCALL_BIT in the number; it is "listed" only through SCMP_ARCH_X32.
 *   nr 0xffffffff (syscall(-1), what a tracer uses to skip a call) is not
 *   treated as x32: it gets what an unknown, too-new number gets.
 * - For each listed architecture a binary search over syscall-number ranges
 *   picks a `ret`, or the rule block of a syscall with conditions: its
 *   conditional rules in profile order (conditions of one rule ANDed, 64-bit
 *   values compared as high and low 32-bit halves; on 32-bit architectures
 *   only the low half exists), the first that matches wins, then the
 *   syscall's first unconditional rule, then the default action.
 * - Rules whose action and errno equal the default are dropped (libseccomp
 *   refuses them and runc skips them), so they never shadow a later rule.
 * - ENOSYS for syscalls the profile cannot know: when the default action is
 *   not permissive (anything but ALLOW, LOG, TRACE), a number above the
 *   highest one the profile names for that architecture returns ENOSYS
 *   instead of the default action, as runc does. A libc probing a syscall
 *   newer than the profile (clone3, openat2, fchmodat2 …) then falls back to
 *   the older call instead of failing with EPERM.
 * - Unknown syscall names are skipped per architecture with a warning;
 *   unknown actions, operators, flags or architectures are errors naming the
 *   field.
 */
import { invalidArgument, unavailable } from '../../common/errors.js';
import {
  ACTION_BITS, ACTIONS_WITH_DATA, ENOSYS, EPERM, FLAG_BITS,
  SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_USER_NOTIF,
} from './actions.js';
import { type ArchInfo, archByName, nativeArchName, syscallNumber, X32_SYSCALL_BIT } from './arch.js';
import { Assembler, type Label } from './assembler.js';
import { BPF_AND, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_MAXINSNS, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, argLowOffset, encodeProgram } from './bpf.js';
import type { CompiledSeccomp, OciSeccomp } from './types.js';

/** What a call from an architecture the profile does not list gets (see the header comment). */
const BAD_ARCH_RET = SECCOMP_RET_KILL_THREAD;
const ENOSYS_RET = (SECCOMP_RET_ERRNO | ENOSYS) >>> 0;
const U32 = 0xffffffff;
const PERMISSIVE = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE']);
const OPS = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);

interface Cond {
  index: number;
  op: string;
  /** value (the mask for MASKED_EQ) */
  a: bigint;
  /** valueTwo */
  b: bigint;
}

interface Rule {
  names: string[];
  ret: number;
  conds: Cond[];
  /** Same action as the default: kept only so its names count for the ENOSYS cut-off (as in runc). */
  inert: boolean;
}

/** What one syscall number of one ABI does. */
interface Entry {
  conditional: Rule[];
  catchAll: number | undefined;
}

/** One ABI inside an AUDIT_ARCH value: a range of syscall numbers and what fills it. */
interface Segment {
  lo: number;
  hi: number;
  /** undefined: the ABI is not listed, the whole range gets BAD_ARCH_RET. */
  abi: ArchInfo | undefined;
}

type Leaf = { ret: number } | { entry: Entry; bits32: boolean };
interface Interval { lo: number; hi: number; leaf: Leaf }

export interface CompileOptions {
  /** SCMP_ARCH_* or a Node/uname name (x64, arm64 …); default: this machine. */
  nativeArch?: string;
}

export function compileSeccomp(profile: OciSeccomp, opts: CompileOptions = {}): CompiledSeccomp {
  const warnings: string[] = [];
  if (profile === null || typeof profile !== 'object') throw invalidArgument('linux.seccomp: must be an object');
  const defaultRet = actionRet(profile.defaultAction, profile.defaultErrnoRet, 'linux.seccomp.defaultAction', 'linux.seccomp.defaultErrnoRet');
  if (profile.defaultAction === 'SCMP_ACT_NOTIFY') {
    // The runtime itself makes syscalls after loading the filter (to hand the
    // listener over and to exec); a notifying default would wait on itself.
    throw invalidArgument('linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action');
  }
  const rules = parseRules(profile, defaultRet);
  const flags = parseFlags(profile, rules);
  const listenerPath = optionalString(profile.listenerPath, 'linux.seccomp.listenerPath');
  const listenerMetadata = optionalString(profile.listenerMetadata, 'linux.seccomp.listenerMetadata');
  if ((flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) !== 0 && listenerPath === '') {
    throw invalidArgument('linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY');
  }
  const arches = resolveArches(profile, opts.nativeArch, warnings);
  const enosys = !PERMISSIVE.has(profile.defaultAction);

  const asm = new Assembler();
  asm.load(SECCOMP_DATA_ARCH);
  const groups = groupByAudit(arches);
  const starts: Label[] = [];
  for (const g of groups) {
    const l = asm.label();
    starts.push(l);
    asm.jump(BPF_JEQ, g.audit, l, undefined);
  }
  asm.ret(BAD_ARCH_RET);
  const unknown = new Map<string, string[]>();
  groups.forEach((g, i) => {
    asm.bind(starts[i]!);
    asm.load(SECCOMP_DATA_NR);
    const intervals: Interval[] = [];
    for (const seg of g.segments) {
      intervals.push(...segmentIntervals(seg, rules, defaultRet, enosys, unknown));
    }
    const merged = mergeIntervals(intervals);
    emitSearch(asm, merged, 0, merged.length - 1);
  });
  for (const [name, archNames] of unknown) {
    warnings.push(`syscall "${name}" is unknown on ${archNames.join(', ')}: skipped there`);
  }
  const prog = asm.assemble();
  if (prog.length > BPF_MAXINSNS) {
    throw invalidArgument(`linux.seccomp: the filter needs ${prog.length} instructions, more than the kernel's limit of ${BPF_MAXINSNS}`);
  }
  return { filter: encodeProgram(prog), flags, listenerPath, listenerMetadata, warnings };
}

// ---- profile parsing --------------------------------------------------------

function actionRet(action: unknown, errnoRet: unknown, field: string, errnoField: string): number {
  if (typeof action !== 'string') throw invalidArgument(`${field}: missing or not a string`);
  const bits = ACTION_BITS[action];
  if (bits === undefined || !Object.hasOwn(ACTION_BITS, action)) throw invalidArgument(`${field}: unknown action "${action}"`);
  if (errnoRet === undefined || errnoRet === null) {
    return action === 'SCMP_ACT_ERRNO' ? (bits | EPERM) >>> 0 : bits;
  }
  if (!ACTIONS_WITH_DATA.has(action)) throw invalidArgument(`${errnoField}: ${action} takes no errno`);
  if (typeof errnoRet !== 'number' || !Number.isInteger(errnoRet) || errnoRet < 0 || errnoRet > 0xffff) {
    throw invalidArgument(`${errnoField}: must be an integer from 0 to 65535`);
  }
  return (bits | errnoRet) >>> 0;
}

function optionalString(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalidArgument(`${field}: must be a string`);
  return v;
}

function parseValue(v: unknown, field: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > 0xffffffffffffffffn) throw invalidArgument(`${field}: must be an unsigned 64-bit integer`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalidArgument(`${field}: must be an unsigned 64-bit integer`);
  // JSON.parse turns 18446744073709551615 (all ones) into 2^64; take it as meant.
  if (v === 2 ** 64) return 0xffffffffffffffffn;
  if (v > 2 ** 64) throw invalidArgument(`${field}: must be an unsigned 64-bit integer`);
  return BigInt(v);
}

function parseRules(profile: OciSeccomp, defaultRet: number): Rule[] {
  const list: unknown = profile.syscalls ?? [];
  if (!Array.isArray(list)) throw invalidArgument('linux.seccomp.syscalls: must be an array');
  const rules: Rule[] = [];
  list.forEach((raw: unknown, i: number) => {
    const at = `linux.seccomp.syscalls[${i}]`;
    if (raw === null || typeof raw !== 'object') throw invalidArgument(`${at}: must be an object`);
    const s = raw as Record<string, unknown>;
    const names = s['names'];
    if (!Array.isArray(names) || names.length === 0) throw invalidArgument(`${at}.names: must be a non-empty array of syscall names`);
    names.forEach((n: unknown, j: number) => {
      if (typeof n !== 'string' || n === '') throw invalidArgument(`${at}.names[${j}]: must be a syscall name`);
    });
    const ret = actionRet(s['action'], s['errnoRet'], `${at}.action`, `${at}.errnoRet`);
    const argsRaw = s['args'] ?? [];
    if (!Array.isArray(argsRaw)) throw invalidArgument(`${at}.args: must be an array`);
    const conds = argsRaw.map((a: unknown, j: number) => parseCond(a, `${at}.args[${j}]`));
    rules.push({ names: names as string[], ret, conds, inert: ret === defaultRet });
  });
  return rules;
}

function parseCond(raw: unknown, at: string): Cond {
  if (raw === null || typeof raw !== 'object') throw invalidArgument(`${at}: must be an object`);
  const a = raw as Record<string, unknown>;
  const index = a['index'];
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 5) {
    throw invalidArgument(`${at}.index: must be an argument index from 0 to 5`);
  }
  const op = a['op'];
  if (typeof op !== 'string' || !OPS.has(op)) throw invalidArgument(`${at}.op: unknown operator "${String(op)}"`);
  const value = parseValue(a['value'] ?? 0, `${at}.value`);
  const valueTwo = parseValue(a['valueTwo'] ?? 0, `${at}.valueTwo`);
  return { index, op, a: value, b: valueTwo };
}

function parseFlags(profile: OciSeccomp, rules: Rule[]): number {
  const list: unknown = profile.flags ?? [];
  if (!Array.isArray(list)) throw invalidArgument('linux.seccomp.flags: must be an array');
  let flags = 0;
  list.forEach((f: unknown, i: number) => {
    const bit = typeof f === 'string' && Object.hasOwn(FLAG_BITS, f) ? FLAG_BITS[f] : undefined;
    if (bit === undefined) throw invalidArgument(`linux.seccomp.flags[${i}]: unknown flag "${String(f)}"`);
    flags |= bit;
  });
  const notify = rules.some((r) => (r.ret & 0xffff0000) >>> 0 === SECCOMP_RET_USER_NOTIF);
  if (notify) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // The kernel refuses TSYNC with NEW_LISTENER unless told to report a
    // failed sync as ESRCH (the listener fd takes the return value's place).
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  } else if (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
    throw invalidArgument('linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY');
  }
  return flags;
}

// ---- architectures ----------------------------------------------------------

function resolveArches(profile: OciSeccomp, nativeArch: string | undefined, warnings: string[]): ArchInfo[] {
  const nativeName = nativeArchName(nativeArch ?? process.arch);
  const native = nativeName === undefined ? undefined : archByName(nativeName);
  if (native?.table === undefined) {
    throw unavailable(`seccomp: no syscall table for the native architecture ${nativeName ?? nativeArch ?? process.arch}`);
  }
  const list: unknown = profile.architectures ?? [];
  if (!Array.isArray(list)) throw invalidArgument('linux.seccomp.architectures: must be an array');
  const out: ArchInfo[] = [native];
  list.forEach((name: unknown, i: number) => {
    const a = typeof name === 'string' ? archByName(name) : undefined;
    if (a === undefined) throw invalidArgument(`linux.seccomp.architectures[${i}]: unknown architecture "${String(name)}"`);
    if (out.includes(a)) return;
    if (a.table === undefined) {
      warnings.push(`architecture ${a.name} has no syscall table in berth: its calls get the bad-architecture action`);
      return;
    }
    out.push(a);
  });
  return out;
}

interface AuditGroup { audit: number; segments: Segment[] }

/** Architectures by AUDIT_ARCH value; x86_64 and x32 share one, split by X32_SYSCALL_BIT. */
function groupByAudit(arches: ArchInfo[]): AuditGroup[] {
  const groups: AuditGroup[] = [];
  for (const a of arches) {
    let g = groups.find((x) => x.audit === a.audit);
    if (!g) {
      g = { audit: a.audit, segments: [] };
      groups.push(g);
    }
  }
  const x8664 = archByName('SCMP_ARCH_X86_64')!;
  for (const g of groups) {
    if (g.audit !== x8664.audit) {
      g.segments.push({ lo: 0, hi: U32, abi: arches.find((a) => a.audit === g.audit) });
      continue;
    }
    const has = (n: string): ArchInfo | undefined => arches.find((a) => a.name === n);
    g.segments.push({ lo: 0, hi: X32_SYSCALL_BIT - 1, abi: has('SCMP_ARCH_X86_64') });
    const x32 = has('SCMP_ARCH_X32');
    if (x32) {
      g.segments.push({ lo: X32_SYSCALL_BIT, hi: U32, abi: x32 });
    } else {
      g.segments.push({ lo: X32_SYSCALL_BIT, hi: U32 - 1, abi: undefined });
      // syscall(-1) is no x32 call: the x86_64 ABI's treatment of unknown numbers.
      g.segments.push({ lo: U32, hi: U32, abi: has('SCMP_ARCH_X86_64') });
    }
  }
  return groups;
}

// ---- syscall-number intervals ---------------------------------------------------

function segmentIntervals(seg: Segment, rules: Rule[], defaultRet: number, enosys: boolean, unknown: Map<string, string[]>): Interval[] {
  const abi = seg.abi;
  if (abi === undefined) return [{ lo: seg.lo, hi: seg.hi, leaf: { ret: BAD_ARCH_RET } }];
  const entries = new Map<number, Entry>();
  let maxNamed = -1;
  for (const r of rules) {
    for (const name of r.names) {
      const nr = syscallNumber(abi, name);
      if (nr === undefined) {
        noteUnknown(unknown, name, abi.name);
        continue;
      }
      if (nr > maxNamed) maxNamed = nr;
      if (r.inert || nr < seg.lo || nr > seg.hi) continue;
      let e = entries.get(nr);
      if (!e) {
        e = { conditional: [], catchAll: undefined };
        entries.set(nr, e);
      }
      if (r.conds.length > 0) e.conditional.push(r);
      else if (e.catchAll === undefined) e.catchAll = r.ret;
    }
  }
  const out: Interval[] = [];
  let cur = seg.lo;
  const nrs = [...entries.keys()].sort((a, b) => a - b);
  for (const nr of nrs) {
    if (nr > cur) out.push({ lo: cur, hi: nr - 1, leaf: { ret: defaultRet } });
    out.push({ lo: nr, hi: nr, leaf: entryLeaf(entries.get(nr)!, defaultRet, abi.bits32) });
    cur = nr + 1;
  }
  if (cur <= seg.hi) {
    // Numbers above everything the profile names may be newer than the profile.
    const tail = enosys && maxNamed >= 0 ? ENOSYS_RET : defaultRet;
    const split = Math.max(cur, Math.min(seg.hi + 1, maxNamed + 1));
    if (split > cur) out.push({ lo: cur, hi: split - 1, leaf: { ret: defaultRet } });
    if (split <= seg.hi) out.push({ lo: split, hi: seg.hi, leaf: { ret: tail } });
  }
  return out;
}

function noteUnknown(unknown: Map<string, string[]>, name: string, arch: string): void {
  const list = unknown.get(name);
  if (!list) unknown.set(name, [arch]);
  else if (!list.includes(arch)) list.push(arch);
}

/** A constant `ret` when no condition can change the outcome, else the rule block. */
function entryLeaf(e: Entry, defaultRet: number, bits32: boolean): Leaf {
  const fallback = e.catchAll ?? defaultRet;
  const conditional = [...e.conditional];
  // Trailing conditional rules that give what the fallback gives change nothing.
  while (conditional.length > 0 && conditional[conditional.length - 1]!.ret === fallback) conditional.pop();
  if (conditional.length === 0) return { ret: fallback };
  return { entry: { conditional, catchAll: fallback }, bits32 };
}

function mergeIntervals(list: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const iv of list) {
    const last = out[out.length - 1];
    if (last && 'ret' in last.leaf && 'ret' in iv.leaf && last.leaf.ret === iv.leaf.ret && last.hi + 1 === iv.lo) {
      last.hi = iv.hi;
    } else {
      out.push({ lo: iv.lo, hi: iv.hi, leaf: iv.leaf });
    }
  }
  return out;
}

// ---- code generation ----------------------------------------------------------

/** Binary search on A (the syscall number) over intervals[a..b], which cover a contiguous range. */
function emitSearch(asm: Assembler, intervals: Interval[], a: number, b: number): void {
  if (b < a) return;
  if (a === b) {
    emitLeaf(asm, intervals[a]!.leaf);
    return;
  }
  const mid = (a + b + 1) >> 1;
  const right = asm.label();
  asm.jump(BPF_JGE, intervals[mid]!.lo, right, undefined);
  emitSearch(asm, intervals, a, mid - 1);
  asm.bind(right);
  emitSearch(asm, intervals, mid, b);
}

function emitLeaf(asm: Assembler, leaf: Leaf): void {
  if ('ret' in leaf) {
    asm.ret(leaf.ret);
    return;
  }
  for (const rule of leaf.entry.conditional) {
    const next = asm.label();
    for (const c of rule.conds) emitCond(asm, c, next, leaf.bits32);
    asm.ret(rule.ret);
    asm.bind(next);
  }
  asm.ret(leaf.entry.catchAll!);
}

const lo32 = (v: bigint): number => Number(v & 0xffffffffn);
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);

/**
 * Code that falls through when the condition holds and jumps to `fail` when
 * it does not. A 64-bit comparison decides on the high halves unless they are
 * equal, then on the low halves.
 */
function emitCond(asm: Assembler, c: Cond, fail: Label, bits32: boolean): void {
  const off = argLowOffset(c.index);
  const pass = asm.label();
  if (c.op === 'SCMP_CMP_MASKED_EQ') {
    const [mhi, dhi, mlo, dlo] = [hi32(c.a), hi32(c.b), lo32(c.a), lo32(c.b)];
    if (!bits32) emitMaskedHalf(asm, off + 4, mhi, dhi, fail);
    emitMaskedHalf(asm, off, mlo, dlo, fail);
    asm.bind(pass);
    return;
  }
  const vhi = hi32(c.a);
  const vlo = lo32(c.a);
  if (!bits32) {
    asm.load(off + 4);
    switch (c.op) {
      case 'SCMP_CMP_EQ': asm.jump(BPF_JEQ, vhi, undefined, fail); break;
      case 'SCMP_CMP_NE': asm.jump(BPF_JEQ, vhi, undefined, pass); break;
      case 'SCMP_CMP_GT':
      case 'SCMP_CMP_GE':
        asm.jump(BPF_JGT, vhi, pass, undefined);
        asm.jump(BPF_JEQ, vhi, undefined, fail);
        break;
      case 'SCMP_CMP_LT':
      case 'SCMP_CMP_LE':
        asm.jump(BPF_JGT, vhi, fail, undefined);
        asm.jump(BPF_JEQ, vhi, undefined, pass);
        break;
    }
  }
  asm.load(off);
  switch (c.op) {
    case 'SCMP_CMP_EQ': asm.jump(BPF_JEQ, vlo, undefined, fail); break;
    case 'SCMP_CMP_NE': asm.jump(BPF_JEQ, vlo, fail, undefined); break;
    case 'SCMP_CMP_GT': asm.jump(BPF_JGT, vlo, undefined, fail); break;
    case 'SCMP_CMP_GE': asm.jump(BPF_JGE, vlo, undefined, fail); break;
    case 'SCMP_CMP_LT': asm.jump(BPF_JGE, vlo, fail, undefined); break;
    case 'SCMP_CMP_LE': asm.jump(BPF_JGT, vlo, fail, undefined); break;
  }
  asm.bind(pass);
}

/** (word & mask) == datum for one 32-bit half, falling through when it holds. */
function emitMaskedHalf(asm: Assembler, off: number, mask: number, datum: number, fail: Label): void {
  if (mask === 0) {
    // Nothing of this half is looked at: it holds exactly when the datum asks for zero.
    if (datum !== 0) asm.goto(fail);
    return;
  }
  asm.load(off);
  if (mask !== U32) asm.alu(BPF_AND, mask);
  asm.jump(BPF_JEQ, datum, undefined, fail);
}
