// The seccomp compiler, judged through the BPF interpreter: what the filter
// decides for calls, with the kernel's own load checks applied to each program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSeccomp, runFilter, checkFilter, syscallNumber, archByName } from '../../src/runtime/seccomp/index.js';
import type { OciSeccomp, OciSeccompArg, SeccompAction } from '../../src/runtime/seccomp/index.js';
import { decodeProgram, BPF_JMP, BPF_JA } from '../../src/runtime/seccomp/bpf.js';
import { BerthError } from '../../src/common/errors.js';

const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const AARCH64 = 0xc00000b7;
const X32_BIT = 0x40000000;
const x64 = archByName('SCMP_ARCH_X86_64')!;
const nr = (name: string): number => syscallNumber(x64, name)!;

function compile(p: OciSeccomp, nativeArch = 'x64') {
  const c = compileSeccomp(p, { nativeArch });
  checkFilter(c.filter);
  return c;
}

function decide(filter: Buffer, call: string | number, args: (number | bigint)[] = [], arch = X86_64): string {
  const d = runFilter(filter, { nr: typeof call === 'string' ? nr(call) : call, arch, args });
  return d.action === 'SCMP_ACT_ERRNO' || d.action === 'SCMP_ACT_TRACE' ? `${d.action}(${d.data})` : d.action;
}

test('named syscalls get their action, others the default', () => {
  const { filter, flags, warnings } = compile({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{ names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }],
  });
  assert.equal(decide(filter, 'read'), 'SCMP_ACT_ALLOW');
  assert.equal(decide(filter, 'write'), 'SCMP_ACT_ALLOW');
  assert.equal(decide(filter, 'mkdir'), 'SCMP_ACT_ERRNO(1)'); // EPERM when no defaultErrnoRet
  assert.equal(decide(filter, 'open'), 'SCMP_ACT_ERRNO(1)');
  assert.equal(flags, 0);
  assert.deepEqual(warnings, []);
});

test('default ALLOW with refused syscalls, and defaultErrnoRet', () => {
  const allowAll = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] });
  assert.equal(decide(allowAll.filter, 'mount'), 'SCMP_ACT_ERRNO(13)');
  assert.equal(decide(allowAll.filter, 'read'), 'SCMP_ACT_ALLOW');
  // A permissive default gets no ENOSYS for numbers past the profile.
  assert.equal(decide(allowAll.filter, 1000), 'SCMP_ACT_ALLOW');
  const denyAll = compile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 22, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(decide(denyAll.filter, 'read'), 'SCMP_ACT_ALLOW');
  assert.equal(decide(denyAll.filter, 'write'), 'SCMP_ACT_ERRNO(38)'); // above read (0): unknown to the profile
  const withMax = compile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 22, syscalls: [{ names: ['read', 'statx'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(decide(withMax.filter, 'write'), 'SCMP_ACT_ERRNO(22)');
});

test('every action encodes as the kernel expects', () => {
  const actions: [SeccompAction, string][] = [
    ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD'], ['SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_THREAD'],
    ['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_PROCESS'], ['SCMP_ACT_TRAP', 'SCMP_ACT_TRAP'],
    ['SCMP_ACT_LOG', 'SCMP_ACT_LOG'], ['SCMP_ACT_TRACE', 'SCMP_ACT_TRACE(0)'], ['SCMP_ACT_ERRNO', 'SCMP_ACT_ERRNO(1)'],
  ];
  for (const [action, want] of actions) {
    const { filter } = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action }] });
    assert.equal(decide(filter, 'getpid'), want, action);
  }
  const trace = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_TRACE', errnoRet: 4242 }] });
  assert.equal(decide(trace.filter, 'getpid'), 'SCMP_ACT_TRACE(4242)');
  const kill = compile({ defaultAction: 'SCMP_ACT_KILL_PROCESS', syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(decide(kill.filter, 'read'), 'SCMP_ACT_ALLOW');
  assert.equal(decide(kill.filter, 0), 'SCMP_ACT_ALLOW');
  assert.equal(decide(kill.filter, 'write'), 'SCMP_ACT_ALLOW');
  assert.equal(decide(kill.filter, 'execve'), 'SCMP_ACT_ERRNO(38)'); // above write: ENOSYS, not kill
});

// 64-bit values either side of the 32-bit boundary.
const EDGE = [0n, 1n, 0x7fffffffn, 0x80000000n, 0xfffffffen, 0xffffffffn, 0x100000000n, 0x100000001n, 0x1fffffffen,
  0x1ffffffffn, 0x200000000n, 0xffffffff00000000n, 0x8000000000000000n, 0xfffffffffffffffen, 0xffffffffffffffffn];

const REFERENCE: Record<string, (arg: bigint, v: bigint, v2: bigint) => boolean> = {
  SCMP_CMP_EQ: (a, v) => a === v,
  SCMP_CMP_NE: (a, v) => a !== v,
  SCMP_CMP_LT: (a, v) => a < v,
  SCMP_CMP_LE: (a, v) => a <= v,
  SCMP_CMP_GT: (a, v) => a > v,
  SCMP_CMP_GE: (a, v) => a >= v,
  SCMP_CMP_MASKED_EQ: (a, m, d) => (a & m) === d,
};

test('every comparison operator on 64-bit values around the 32-bit boundary', () => {
  for (const op of Object.keys(REFERENCE) as OciSeccompArg['op'][]) {
    if (op === 'SCMP_CMP_MASKED_EQ') continue;
    for (const v of EDGE) {
      const { filter } = compile({
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [
          { names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value: v, op }] },
          { names: ['statx'], action: 'SCMP_ACT_ALLOW' },
        ],
      });
      for (const a of EDGE) {
        const want: string = REFERENCE[op]!(a, v, 0n) ? 'SCMP_ACT_ALLOW' : 'SCMP_ACT_ERRNO(1)';
        assert.equal(decide(filter, 'ioctl', [0, 0, a]), want, `${a} ${op} ${v}`);
      }
    }
  }
});

test('SCMP_CMP_MASKED_EQ: value is the mask, valueTwo the datum, across both halves', () => {
  const cases: [bigint, bigint][] = [
    [0x7e020000n, 0n], [0xffn, 0x11n], [0xffffffff00000000n, 0x100000000n], [0x1_0000_00ffn, 0x1_0000_0001n],
    [0xffffffffffffffffn, 0xdeadbeefcafef00dn], [0n, 0n], [0n, 1n], [0xf0n, 0x0fn],
  ];
  const args = [...EDGE, 0x11n, 0x111n, 0x7e020000n, 0x10000n, 0x1_0000_0001n, 0xdeadbeefcafef00dn, 0x20000n];
  for (const [mask, datum] of cases) {
    const { filter } = compile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: mask, valueTwo: datum, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['statx'], action: 'SCMP_ACT_ALLOW' },
      ],
    });
    for (const a of args) {
      const want = (a & mask) === datum ? 'SCMP_ACT_ALLOW' : 'SCMP_ACT_ERRNO(1)';
      assert.equal(decide(filter, 'clone', [a]), want, `(${a} & ${mask}) == ${datum}`);
    }
  }
});

test('conditions of one rule are ANDed, rules for one syscall ORed, the first match wins', () => {
  const { filter } = compile({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }, { index: 1, value: 1, op: 'SCMP_CMP_EQ' }] },
      { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{ index: 0, value: 40, op: 'SCMP_CMP_EQ' }] },
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
      { names: ['socket'], action: 'SCMP_ACT_LOG', args: [{ index: 2, value: 0, op: 'SCMP_CMP_NE' }] },
      { names: ['statx'], action: 'SCMP_ACT_ALLOW' },
    ],
  });
  assert.equal(decide(filter, 'socket', [2, 1, 0]), 'SCMP_ACT_ALLOW'); // AF_INET, SOCK_STREAM
  assert.equal(decide(filter, 'socket', [2, 2, 0]), 'SCMP_ACT_ERRNO(1)'); // only half of rule 1
  assert.equal(decide(filter, 'socket', [40, 1, 0]), 'SCMP_ACT_ERRNO(97)');
  assert.equal(decide(filter, 'socket', [40, 1, 6]), 'SCMP_ACT_ERRNO(97)'); // rule 2 before rule 4
  assert.equal(decide(filter, 'socket', [1, 5, 0]), 'SCMP_ACT_ALLOW');
  assert.equal(decide(filter, 'socket', [10, 1, 6]), 'SCMP_ACT_LOG');
  assert.equal(decide(filter, 'socket', [10, 1, 0]), 'SCMP_ACT_ERRNO(1)');
});

test('a rule without args is the catch-all, after the conditional rules whatever its place', () => {
  const { filter } = compile({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 3 },
      { names: ['kill'], action: 'SCMP_ACT_TRAP', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 4 }, // a second catch-all loses to the first
    ],
  });
  assert.equal(decide(filter, 'kill', [1, 9]), 'SCMP_ACT_TRAP');
  assert.equal(decide(filter, 'kill', [1, 15]), 'SCMP_ACT_ERRNO(3)');
});

test('a rule with the default action is dropped and shadows nothing (libseccomp refuses it, runc skips it)', () => {
  const { filter } = compile({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW' },
      { names: ['statx'], action: 'SCMP_ACT_ALLOW' },
    ],
  });
  assert.equal(decide(filter, 'personality', [8]), 'SCMP_ACT_ALLOW');
});

test('architectures: unlisted ones get the bad-arch action (kill), listed ones their own numbers', () => {
  const p: OciSeccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid', 'statx'], action: 'SCMP_ACT_ALLOW' }] };
  const only64 = compile(p).filter;
  assert.equal(decide(only64, 'getpid'), 'SCMP_ACT_ALLOW');
  assert.equal(decide(only64, 20, [], I386), 'SCMP_ACT_KILL_THREAD');
  assert.equal(decide(only64, 172, [], AARCH64), 'SCMP_ACT_KILL_THREAD');
  const both = compile({ ...p, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'] }).filter;
  assert.equal(decide(both, 20, [], I386), 'SCMP_ACT_ALLOW'); // getpid is 20 on i386
  assert.equal(decide(both, 39, [], I386), 'SCMP_ACT_ERRNO(1)'); // mkdir on i386; getpid on x86_64
  assert.equal(decide(both, 39), 'SCMP_ACT_ALLOW');
  // The native architecture is always included; the profile's list adds to it.
  const arm = compile({ ...p, architectures: ['SCMP_ARCH_X86_64'] }, 'arm64').filter;
  assert.equal(decide(arm, 172, [], AARCH64), 'SCMP_ACT_ALLOW'); // getpid on arm64
  assert.equal(decide(arm, 39), 'SCMP_ACT_ALLOW');
});

test('x32: without SCMP_ARCH_X32 its calls get the bad-arch action; with it, x32 numbers apply', () => {
  const p: OciSeccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid', 'statx'], action: 'SCMP_ACT_ALLOW' }] };
  const no32 = compile(p).filter;
  assert.equal(decide(no32, X32_BIT + 39), 'SCMP_ACT_KILL_THREAD');
  assert.equal(decide(no32, X32_BIT + 520), 'SCMP_ACT_KILL_THREAD');
  // syscall(-1), the tracer's skip, is not an x32 call: it is past everything named.
  assert.equal(decide(no32, 0xffffffff), 'SCMP_ACT_ERRNO(38)');
  const with32 = compile({ ...p, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'] }).filter;
  assert.equal(decide(with32, X32_BIT + 39), 'SCMP_ACT_ALLOW');
  assert.equal(decide(with32, X32_BIT + 83), 'SCMP_ACT_ERRNO(1)'); // mkdir
  assert.equal(decide(with32, X32_BIT + 1000), 'SCMP_ACT_ERRNO(38)');
  assert.equal(decide(with32, 39), 'SCMP_ACT_ALLOW');
});

test('on 32-bit architectures only the low half of an argument is compared', () => {
  const { filter } = compile({
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86'],
    syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] }, { names: ['statx'], action: 'SCMP_ACT_ALLOW' }],
  });
  assert.equal(decide(filter, 136, [8], I386), 'SCMP_ACT_ALLOW');
  assert.equal(decide(filter, 136, [9], I386), 'SCMP_ACT_ERRNO(1)');
  assert.equal(decide(filter, nr('personality'), [0x100000008n]), 'SCMP_ACT_ERRNO(1)'); // x86_64 looks at both halves
});

test('numbers above everything the profile names return ENOSYS when the default refuses', () => {
  const { filter } = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['openat2', 'read'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(decide(filter, 'openat2'), 'SCMP_ACT_ALLOW');
  assert.equal(decide(filter, 'clone3'), 'SCMP_ACT_ERRNO(1)'); // 435 < openat2 (437): the profile knew of it
  assert.equal(decide(filter, 'faccessat2'), 'SCMP_ACT_ERRNO(38)'); // 439: newer than the profile
  assert.equal(decide(filter, 0x3fffffff), 'SCMP_ACT_ERRNO(38)');
  const trap = compile({ defaultAction: 'SCMP_ACT_TRAP', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(decide(trap.filter, 'write'), 'SCMP_ACT_ERRNO(38)');
  const log = compile({ defaultAction: 'SCMP_ACT_LOG', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(decide(log.filter, 'write'), 'SCMP_ACT_LOG');
});

test('unknown syscall names are skipped with a warning', () => {
  const { filter, warnings } = compile({
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [{ names: ['read', 'no_such_call', 'arch_prctl', '_llseek', 'constructor'], action: 'SCMP_ACT_ALLOW' }],
  });
  assert.equal(decide(filter, 'read'), 'SCMP_ACT_ALLOW');
  assert.equal(decide(filter, 140, [], I386), 'SCMP_ACT_ALLOW'); // _llseek on i386
  assert.ok(warnings.some((w) => w.includes('"no_such_call"') && w.includes('SCMP_ARCH_X86_64') && w.includes('SCMP_ARCH_X86')), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes('"_llseek"') && w.includes('SCMP_ARCH_X86_64')));
  assert.ok(warnings.some((w) => w.includes('"constructor"')));
});

function errorOf(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof BerthError, String(e));
    return e;
  }
  assert.fail('no error');
}

test('bad profiles are errors naming the field', () => {
  const base: OciSeccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] };
  const rules = (action: string) => [0, 1, 2].map(() => ({ names: ['read'], action: 'SCMP_ACT_ALLOW' as SeccompAction }))
    .concat([{ names: ['write'], action: action as SeccompAction }]);
  const e1 = errorOf(() => compileSeccomp({ ...base, syscalls: rules('SCMP_ACT_FOO') }, { nativeArch: 'x64' }));
  assert.equal(e1.message, 'linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"');
  assert.equal(e1.kind, 'invalid-argument');
  const e2 = errorOf(() => compileSeccomp({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_XX' as 'SCMP_CMP_EQ' }] }] }));
  assert.equal(e2.message, 'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_XX"');
  const e3 = errorOf(() => compileSeccomp({ ...base, defaultAction: 'SCMP_ACT_NOPE' as SeccompAction }));
  assert.equal(e3.message, 'linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE"');
  const e4 = errorOf(() => compileSeccomp({ ...base, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_Z80' as 'SCMP_ARCH_X86'] }));
  assert.equal(e4.message, 'linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_Z80"');
  const e5 = errorOf(() => compileSeccomp({ ...base, flags: ['SECCOMP_FILTER_FLAG_NOPE' as 'SECCOMP_FILTER_FLAG_LOG'] }));
  assert.equal(e5.message, 'linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"');
  const e6 = errorOf(() => compileSeccomp({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 5 }] }));
  assert.equal(e6.message, 'linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_ALLOW takes no errno');
  const e7 = errorOf(() => compileSeccomp({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }));
  assert.match(e7.message, /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: /);
  const e8 = errorOf(() => compileSeccomp({ ...base, syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] }));
  assert.match(e8.message, /^linux\.seccomp\.syscalls\[0\]\.names: /);
  const e9 = errorOf(() => compileSeccomp({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] }));
  assert.match(e9.message, /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.value: /);
});

test('SCMP_ACT_NOTIFY needs a listener path and asks for a listener fd', () => {
  const p: OciSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mknod', 'mknodat'], action: 'SCMP_ACT_NOTIFY' }] };
  assert.match(errorOf(() => compileSeccomp(p)).message, /^linux\.seccomp\.listenerPath: /);
  const c = compile({ ...p, listenerPath: '/run/agent.sock', listenerMetadata: 'meta', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] });
  assert.equal(decide(c.filter, 'mknodat'), 'SCMP_ACT_NOTIFY');
  assert.equal(c.flags, 8 | 32); // NEW_LISTENER | WAIT_KILLABLE_RECV
  assert.equal(c.listenerPath, '/run/agent.sock');
  assert.equal(c.listenerMetadata, 'meta');
  const tsync = compile({ ...p, listenerPath: '/x', flags: ['SECCOMP_FILTER_FLAG_TSYNC'] });
  assert.equal(tsync.flags, 1 | 8 | 16); // TSYNC needs TSYNC_ESRCH beside NEW_LISTENER
  assert.match(errorOf(() => compileSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/x' })).message, /^linux\.seccomp\.defaultAction: /);
  assert.match(errorOf(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] })).message, /^linux\.seccomp\.flags: /);
});

test('flags map to their bits', () => {
  const c = compile({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'] });
  assert.equal(c.flags, 2 | 4 | 1);
});

test('long programs: conditional jumps past 255 instructions go through trampolines', () => {
  // Every x86_64 syscall with a condition: several thousand instructions.
  const names = Object.keys((x64.table ?? {}) as Record<string, number>).slice(0, 300);
  const { filter } = compile({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: names.map((n, i) => ({ names: [n], action: 'SCMP_ACT_ERRNO' as SeccompAction, errnoRet: 100 + (i % 50), args: [{ index: i % 6, value: i, op: 'SCMP_CMP_GE' as const }] })),
  });
  const prog = decodeProgram(filter);
  assert.ok(prog.length > 1000, `only ${prog.length} instructions`);
  assert.ok(prog.some((ins) => ins.code === (BPF_JMP | BPF_JA) && ins.k > 255), 'no long jump was needed');
  names.forEach((n, i) => {
    const args = [0, 0, 0, 0, 0, 0];
    assert.equal(decide(filter, n, args), i === 0 ? `SCMP_ACT_ERRNO(${100})` : 'SCMP_ACT_ERRNO(1)', n);
    args[i % 6] = i;
    assert.equal(decide(filter, n, args), `SCMP_ACT_ERRNO(${100 + (i % 50)})`, n);
  });
});

test('a program over the kernel limit of 4096 instructions is refused', () => {
  const names = Object.keys((x64.table ?? {}) as Record<string, number>);
  const args = [0, 1, 2, 3, 4, 5].map((index) => ({ index, value: 0x1_0000_0000n + BigInt(index), op: 'SCMP_CMP_GT' as const }));
  assert.match(errorOf(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: names.map((n) => ({ names: [n], action: 'SCMP_ACT_ALLOW' as const, args })) }, { nativeArch: 'x64' })).message,
    /more than the kernel's limit of 4096/);
});

// A reference model of the semantics, checked against the compiled filter on random profiles.
function reference(p: OciSeccomp, nr_: number, args: bigint[]): number {
  const defRet = ret(p.defaultAction, p.defaultErrnoRet);
  const names = Object.entries(x64.table!).filter(([, n]) => n === nr_).map(([name]) => name);
  const rules = (p.syscalls ?? []).filter((r) => r.names.some((n) => names.includes(n)) && ret(r.action, r.errnoRet) !== defRet);
  for (const r of rules.filter((r) => (r.args ?? []).length > 0)) {
    if (r.args!.every((a) => REFERENCE[a.op]!(args[a.index]!, BigInt(a.value), BigInt(a.valueTwo ?? 0)))) return ret(r.action, r.errnoRet);
  }
  const catchAll = rules.find((r) => (r.args ?? []).length === 0);
  if (catchAll) return ret(catchAll.action, catchAll.errnoRet);
  const maxNamed = Math.max(-1, ...(p.syscalls ?? []).flatMap((r) => r.names.map((n) => syscallNumber(x64, n) ?? -1)));
  if (nr_ > maxNamed && !['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(p.defaultAction)) return 0x50026;
  return defRet;
}
function ret(action: SeccompAction, errnoRet?: number): number {
  const bits: Record<string, number> = { SCMP_ACT_ALLOW: 0x7fff0000, SCMP_ACT_ERRNO: 0x50000, SCMP_ACT_LOG: 0x7ffc0000, SCMP_ACT_TRAP: 0x30000, SCMP_ACT_KILL_PROCESS: 0x80000000 };
  return (bits[action]! | (action === 'SCMP_ACT_ERRNO' ? errnoRet ?? 1 : 0)) >>> 0;
}

test('random profiles agree with a reference model of the semantics', () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const pool = ['read', 'write', 'openat', 'close', 'mmap', 'ioctl', 'clone', 'kill', 'socket', 'futex', 'statx', 'getpid'];
  const ops = Object.keys(REFERENCE) as OciSeccompArg['op'][];
  const actions: SeccompAction[] = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_LOG', 'SCMP_ACT_TRAP', 'SCMP_ACT_KILL_PROCESS'];
  for (let round = 0; round < 60; round++) {
    const syscalls = Array.from({ length: 1 + rnd(10) }, () => {
      const action = actions[rnd(actions.length)]!;
      return {
        names: Array.from({ length: 1 + rnd(3) }, () => pool[rnd(pool.length)]!),
        action,
        ...(action === 'SCMP_ACT_ERRNO' && rnd(2) ? { errnoRet: rnd(200) } : {}),
        args: Array.from({ length: rnd(3) }, () => ({ index: rnd(3), value: EDGE[rnd(EDGE.length)]!, valueTwo: EDGE[rnd(EDGE.length)]!, op: ops[rnd(ops.length)]! })),
      };
    });
    const p: OciSeccomp = { defaultAction: actions[rnd(actions.length)]!, ...(rnd(2) ? { defaultErrnoRet: rnd(100) } : {}), syscalls };
    if (p.defaultAction !== 'SCMP_ACT_ERRNO') delete p.defaultErrnoRet;
    const { filter } = compile(p);
    for (let k = 0; k < 40; k++) {
      const call = rnd(5) === 0 ? 300 + rnd(200) : nr(pool[rnd(pool.length)]!);
      const args = [0, 1, 2].map(() => EDGE[rnd(EDGE.length)]!);
      const got = runFilter(filter, { nr: call, arch: X86_64, args }).ret;
      assert.equal(got, reference(p, call, args), `round ${round} nr ${call} args ${args} profile ${JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    }
  }
});

test('every name the config validator accepts, the compiler accepts too, with the same kernel values', async () => {
  const names = await import('../../src/runtime/spec/seccomp-names.js');
  for (const action of names.SECCOMP_ACTION_NAMES) {
    if (action === 'SCMP_ACT_NOTIFY') continue;
    const c = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action }] });
    const d = runFilter(c.filter, { nr: nr('getpid'), arch: X86_64 });
    assert.equal((d.ret & 0xffff0000) >>> 0, names.SECCOMP_ACTIONS[action], action);
  }
  for (const arch of names.SECCOMP_ARCH_NAMES) {
    assert.equal(archByName(arch)?.audit, names.SECCOMP_ARCHES[arch], arch);
    compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [arch] }, { nativeArch: 'x64' });
  }
  for (const flag of names.SECCOMP_FLAG_NAMES) {
    const p: OciSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/x', flags: [flag], syscalls: [{ names: ['mknod'], action: 'SCMP_ACT_NOTIFY' }] };
    assert.equal(compile(p).flags & names.SECCOMP_FLAGS[flag], names.SECCOMP_FLAGS[flag], flag);
  }
  for (const op of names.SECCOMP_OPERATORS) {
    compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op }] }] });
  }
});
