/**
 * A policy compiled for one architecture: the notify filter (classic BPF,
 * built with the runtime's assembler) and the supervisor's table.
 *
 * The filter decides only "allow", "refuse without audit" and "notify":
 * a call the policy allows never leaves the kernel (no cost beyond the
 * filter's few instructions), everything else reaches the C supervisor,
 * which looks its number up in the table. Other architectures (i386 and
 * x32 calls of an x86_64 container) are always notified, and the table's
 * default refuses them: their numbers mean other calls.
 *
 * Why seccomp user notification and not ptrace (issue 7, measured on these
 * machines): a C supervisor answers a notified call in about 15 µs, while
 * PTRACE_SYSEMU costs 27 µs and PTRACE_SYSCALL 53 µs per call (gVisor's
 * ptrace platform: about 38 µs); and ptrace stops the process at every
 * call, where the filter lets the allowed ones (read, write, futex, mmap …)
 * run at native speed (a plain getpid costs 1.5–2.3 µs here).
 */
import { invalidArgument } from '../../common/errors.js';
import { Assembler, type Label } from '../../runtime/seccomp/assembler.js';
import { BPF_AND, BPF_JEQ, BPF_JGE, argLowOffset, encodeProgram, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR } from '../../runtime/seccomp/bpf.js';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_USER_NOTIF } from '../../runtime/seccomp/actions.js';
import { archByName, nativeArchName, syscallNumber, type ArchInfo } from '../../runtime/seccomp/index.js';
import { ERRNOS, type PolicyCondition, type PolicyRule, type SandboxPolicy } from './schema.js';

/** SandboxAction of plan/format.ts, by policy action. */
export const TABLE_ACTION = { continue: 1, refuse: 2, pass: 3, uname: 4, sysinfo: 5, getdents: 6 } as const;

/** What the supervisor does with one notified syscall. */
export interface TableRule {
  nr: number;
  name: string;
  action: number;
  errno: number;
}

/** A file the supervisor refuses to open (SANDBOX_PATH). */
export interface TablePath {
  prefix: string;
  /** SandboxPathDeny: 1 = opens for writing, 2 = every open */
  deny: number;
  errno: number;
}

export interface CompiledPolicy {
  /** struct sock_filter[] */
  filter: Buffer;
  /** AUDIT_ARCH of the table's numbers */
  arch: number;
  rules: TableRule[];
  paths: TablePath[];
  defaultAction: number;
  defaultErrno: number;
  uname: SandboxPolicy['uname'];
  warnings: string[];
}

/** The emulators the supervisor has, by syscall. */
const EMULATORS: Readonly<Record<string, number>> = {
  uname: TABLE_ACTION.uname, sysinfo: TABLE_ACTION.sysinfo, getdents: TABLE_ACTION.getdents, getdents64: TABLE_ACTION.getdents,
};
const PASS_CALLS = new Set(['open', 'openat', 'openat2', 'creat']);

type Leaf = { kind: 'allow' } | { kind: 'errno'; errno: number } | { kind: 'notify' };

/** targeted: from a rule `for` some containers only */
interface Branch { conds: readonly PolicyCondition[]; leaf: Leaf; targeted?: boolean }
interface CallPlan { nr: number; name: string; branches: Branch[]; table: TableRule | undefined }

function ruleLeaf(r: PolicyRule): Leaf {
  if (r.action === 'allow') return { kind: 'allow' };
  if (r.action === 'refuse' && r.audit === false) return { kind: 'errno', errno: ERRNOS[r.errno ?? 'EPERM'] };
  return { kind: 'notify' };
}

function tableAction(r: PolicyRule, name: string, at: string): { action: number; errno: number } {
  switch (r.action) {
    case 'pass':
      if (!PASS_CALLS.has(name)) throw invalidArgument(`${at}: "${name}" cannot be passed through (only ${[...PASS_CALLS].join(', ')})`);
      return { action: TABLE_ACTION.pass, errno: 0 };
    case 'emulate': {
      const a = EMULATORS[name];
      if (a === undefined) throw invalidArgument(`${at}: no emulator for "${name}" (there are: ${Object.keys(EMULATORS).join(', ')})`);
      return { action: a, errno: 0 };
    }
    default:
      return { action: TABLE_ACTION.refuse, errno: ERRNOS[r.errno ?? 'EPERM'] };
  }
}

/** What the container is, for rules that apply to some containers only (`for`). */
export interface PolicyTarget {
  /** the container has no pid namespace of its own: it shares the host's */
  hostPidNamespace: boolean;
}

const DEFAULT_TARGET: PolicyTarget = { hostPidNamespace: false };

function appliesTo(r: PolicyRule, target: PolicyTarget): boolean {
  return r.for === undefined || (r.for === 'host-pid-namespace' && target.hostPidNamespace);
}

/** Groups the rules by syscall number, in file order, and fills the table. */
function planCalls(policy: SandboxPolicy, arch: ArchInfo, target: PolicyTarget, warnings: string[]): Map<number, CallPlan> {
  const calls = new Map<number, CallPlan>();
  const otherwise = { action: TABLE_ACTION.refuse, errno: ERRNOS[policy.otherwise.errno] };
  policy.rules.forEach((r, i) => {
    if (!appliesTo(r, target)) {
      // checked all the same: a wrong action is a mistake in the file for every container
      for (const name of r.syscalls) if (r.action !== 'allow' && ruleLeaf(r).kind === 'notify') tableAction(r, name, `rules[${i}] (${name})`);
      return;
    }
    for (const name of r.syscalls) {
      const at = `rules[${i}] (${name})`;
      const nr = syscallNumber(arch, name);
      if (nr === undefined) { warnings.push(`${at}: no such syscall on ${arch.name}: skipped`); continue; }
      let c = calls.get(nr);
      if (!c) { c = { nr, name, branches: [], table: undefined }; calls.set(nr, c); }
      const leaf = ruleLeaf(r);
      // checked even for rules never reached: a wrong action is a mistake in the file either way
      const t = leaf.kind === 'notify' ? tableAction(r, name, at) : undefined;
      const caught = c.branches.find((b) => b.conds.length === 0);
      if (caught) {
        // a rule for some containers shadows the general one there, as it is meant to
        if (!caught.targeted) warnings.push(`${at}: an earlier rule already catches every call: never reached`);
        continue;
      }
      c.branches.push({ conds: r.when ?? [], leaf, targeted: r.for !== undefined });
      if (!t) continue;
      // the supervisor sees the call, not which rule sent it: one answer per syscall
      if (c.table && (c.table.action !== t.action || c.table.errno !== t.errno)) {
        throw invalidArgument(`${at}: "${name}" already reaches the supervisor with another action; one syscall has one supervisor action`);
      }
      c.table = { nr, name, ...t };
    }
  });
  for (const c of calls.values()) {
    if (!c.branches.some((b) => b.conds.length === 0)) {
      // no catch-all: calls no condition matches get `otherwise`, from the supervisor
      c.branches.push({ conds: [], leaf: { kind: 'notify' } });
      if (c.table && (c.table.action !== otherwise.action || c.table.errno !== otherwise.errno)) {
        throw invalidArgument(`rules (${c.name}): calls no rule matches fall to "otherwise", which differs from its other supervisor action; add a catch-all rule`);
      }
      c.table ??= { nr: c.nr, name: c.name, ...otherwise };
    }
  }
  return calls;
}

function leafRet(l: Leaf): number {
  if (l.kind === 'allow') return SECCOMP_RET_ALLOW;
  if (l.kind === 'errno') return (SECCOMP_RET_ERRNO | (l.errno & 0xffff)) >>> 0;
  return SECCOMP_RET_USER_NOTIF;
}

/** One call's branches: each is a chain of conditions that falls to the next branch on the first miss. */
function emitCall(asm: Assembler, c: CallPlan): void {
  for (const b of c.branches) {
    const next: Label = asm.label();
    for (const cond of b.conds) {
      asm.load(argLowOffset(cond.arg));
      if (cond.op === 'masked_eq') asm.alu(BPF_AND, cond.mask!);
      if (cond.op === 'ne') asm.jump(BPF_JEQ, cond.value, next, undefined);
      else asm.jump(BPF_JEQ, cond.value, undefined, next);
    }
    asm.ret(leafRet(b.leaf));
    asm.bind(next);
  }
  // unreachable: the last branch has no conditions; keeps every label bound before an instruction
  asm.ret(SECCOMP_RET_USER_NOTIF);
}

/** A run of numbers with one answer: a plain return, or a call with conditions. */
interface Span { lo: number; ret: number | undefined; call: CallPlan | undefined }

/** Binary search over number spans: a call costs about log2(spans) jumps, not one per listed syscall. */
function emitSearch(asm: Assembler, spans: Span[], lo: number, hi: number): void {
  if (lo === hi) {
    const s = spans[lo]!;
    if (s.call) emitCall(asm, s.call);
    else asm.ret(s.ret!);
    return;
  }
  const mid = (lo + hi + 1) >> 1;
  const right = asm.label();
  asm.jump(BPF_JGE, spans[mid]!.lo, right, undefined);
  emitSearch(asm, spans, lo, mid - 1);
  asm.bind(right);
  emitSearch(asm, spans, mid, hi);
}

/** Spans from 0 up, neighbours with the same plain return merged (unlisted numbers: notify). */
function spansOf(calls: Map<number, CallPlan>): Span[] {
  const spans: Span[] = [];
  const push = (s: Span): void => {
    const last = spans[spans.length - 1];
    if (last && s.ret !== undefined && last.ret === s.ret) return;
    spans.push(s);
  };
  let cur = 0;
  for (const nr of [...calls.keys()].sort((a, b) => a - b)) {
    if (nr > cur) push({ lo: cur, ret: SECCOMP_RET_USER_NOTIF, call: undefined });
    const c = calls.get(nr)!;
    const only = c.branches.length === 1 ? c.branches[0]! : undefined;
    push(only ? { lo: nr, ret: leafRet(only.leaf), call: undefined } : { lo: nr, ret: undefined, call: c });
    cur = nr + 1;
  }
  push({ lo: cur, ret: SECCOMP_RET_USER_NOTIF, call: undefined });
  return spans;
}

export function compilePolicy(policy: SandboxPolicy, nativeArch: string = process.arch, target: PolicyTarget = DEFAULT_TARGET): CompiledPolicy {
  const archName = nativeArchName(nativeArch);
  const arch = archName ? archByName(archName) : undefined;
  if (!arch?.table) throw invalidArgument(`sandbox policy ${policy.name}: no syscall table for ${nativeArch}`);
  const warnings: string[] = [];
  const calls = planCalls(policy, arch, target, warnings);
  const asm = new Assembler();
  const native = asm.label();
  asm.load(SECCOMP_DATA_ARCH);
  asm.jump(BPF_JEQ, arch.audit, native, undefined);
  asm.ret(SECCOMP_RET_USER_NOTIF);
  asm.bind(native);
  asm.load(SECCOMP_DATA_NR);
  if (arch.name === 'SCMP_ARCH_X86_64') {
    // x32 calls share the audit arch and carry bit 30: the supervisor refuses them
    const x64 = asm.label();
    asm.jump(BPF_JGE, 0x40000000, undefined, x64);
    asm.ret(SECCOMP_RET_USER_NOTIF);
    asm.bind(x64);
    asm.load(SECCOMP_DATA_NR);
  }
  const spans = spansOf(calls);
  emitSearch(asm, spans, 0, spans.length - 1);
  const rules = [...calls.values()].flatMap((c) => (c.table ? [c.table] : []));
  // unlisted numbers are refused by the supervisor: give it their names for the audit log
  for (const [name, nr] of Object.entries(arch.table)) {
    if (!calls.has(nr) && !rules.some((r) => r.nr === nr)) {
      rules.push({ nr, name, action: TABLE_ACTION.refuse, errno: ERRNOS[policy.otherwise.errno] });
    }
  }
  rules.sort((a, b) => a.nr - b.nr);
  return {
    filter: encodeProgram(asm.assemble()), arch: arch.audit, rules,
    paths: (policy.paths ?? []).map((p) => ({ prefix: p.prefix, deny: p.deny === 'write' ? 1 : 2, errno: ERRNOS[p.errno ?? 'EPERM'] })),
    defaultAction: TABLE_ACTION.refuse, defaultErrno: ERRNOS[policy.otherwise.errno], uname: policy.uname, warnings,
  };
}
