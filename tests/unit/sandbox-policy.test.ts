/**
 * berth-sandbox's policy (src/sandbox/policy/default.json): the file is
 * valid, and what it compiles to — the notify filter, checked with the
 * runtime's BPF interpreter, and the supervisor's table — says what the
 * file says, call by call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compilePolicy, defaultPolicy, parsePolicy, TABLE_ACTION, type SandboxPolicy } from '../../src/sandbox/index.js';
import { SandboxAction } from '../../src/runtime/plan/format.js';
import { archByName, checkFilter, runFilter, syscallNumber } from '../../src/runtime/seccomp/index.js';

const X86_64 = archByName('SCMP_ARCH_X86_64')!;
const I386 = archByName('SCMP_ARCH_X86')!;
const policyFile = fileURLToPath(new URL('../../src/sandbox/policy/default.json', import.meta.url));
const compiled = compilePolicy(defaultPolicy(), 'x64');

function decide(name: string, args: number[] = []): string {
  const nr = syscallNumber(X86_64, name);
  assert.ok(nr !== undefined, name);
  return runFilter(compiled.filter, { nr, arch: X86_64.audit, args }).action;
}

function tableOf(name: string): { action: number; errno: number } | undefined {
  return compiled.rules.find((r) => r.name === name);
}

test('the default policy file is valid and compiles to a filter the kernel accepts', () => {
  const raw = JSON.parse(readFileSync(policyFile, 'utf8')) as unknown;
  parsePolicy(raw, policyFile);
  checkFilter(compiled.filter);
  assert.deepEqual(compiled.warnings, []);
  assert.ok(compiled.filter.length / 8 < 400, `a small filter: ${compiled.filter.length / 8} instructions`);
});

test('every listed call gets its action: allow runs in the kernel, the rest reach the supervisor', () => {
  const policy = defaultPolicy();
  for (const rule of policy.rules) {
    for (const name of rule.syscalls) {
      if (syscallNumber(X86_64, name) === undefined) continue;
      // rules `for` some containers only: below
      const first = policy.rules.find((r) => r.syscalls.includes(name) && r.for === undefined)!;
      if (first !== rule || rule.when) continue; // conditional calls: below
      const got = decide(name);
      if (rule.action === 'allow') assert.equal(got, 'SCMP_ACT_ALLOW', name);
      else if (rule.action === 'refuse' && rule.audit === false) assert.equal(got, 'SCMP_ACT_ERRNO', name);
      else assert.equal(got, 'SCMP_ACT_NOTIFY', name);
    }
  }
});

test('calls that need no checking cost nothing: read, write, futex, clocks, memory', () => {
  for (const name of ['read', 'write', 'futex', 'clock_gettime', 'mmap', 'munmap', 'mprotect', 'brk', 'exit_group', 'getpid']) {
    assert.equal(decide(name), 'SCMP_ACT_ALLOW', name);
  }
});

test('argument conditions: raw and packet sockets, new namespaces, TIOCSTI, personality', () => {
  assert.equal(decide('socket', [2, 1]), 'SCMP_ACT_ALLOW'); // AF_INET, SOCK_STREAM
  assert.equal(decide('socket', [10, 2 | 0x80000]), 'SCMP_ACT_ALLOW'); // AF_INET6, SOCK_DGRAM|SOCK_CLOEXEC
  assert.equal(decide('socket', [1, 5]), 'SCMP_ACT_ALLOW'); // AF_UNIX
  assert.equal(decide('socket', [2, 3]), 'SCMP_ACT_NOTIFY'); // SOCK_RAW
  assert.equal(decide('socket', [17, 3]), 'SCMP_ACT_NOTIFY'); // AF_PACKET
  assert.equal(decide('clone', [0x01200011]), 'SCMP_ACT_ALLOW'); // fork's flags
  assert.equal(decide('clone', [0x10000000 | 17]), 'SCMP_ACT_NOTIFY'); // CLONE_NEWUSER
  assert.equal(decide('unshare', [0x00020000]), 'SCMP_ACT_NOTIFY'); // CLONE_NEWNS
  assert.equal(decide('unshare', [0x00000400]), 'SCMP_ACT_ALLOW'); // CLONE_FILES
  assert.equal(decide('ioctl', [0, 0x5412]), 'SCMP_ACT_NOTIFY'); // TIOCSTI
  assert.equal(decide('ioctl', [0, 0x5401]), 'SCMP_ACT_ALLOW'); // TCGETS
  assert.equal(decide('personality', [0xffffffff]), 'SCMP_ACT_ALLOW');
  assert.equal(decide('personality', [0x0040000]), 'SCMP_ACT_NOTIFY'); // ADDR_NO_RANDOMIZE
  assert.deepEqual(tableOf('socket'), { nr: 41, name: 'socket', action: TABLE_ACTION.refuse, errno: 1 });
});

test('other ABIs and unknown numbers reach the supervisor, which refuses them', () => {
  assert.equal(runFilter(compiled.filter, { nr: 11, arch: I386.audit }).action, 'SCMP_ACT_NOTIFY');
  assert.equal(runFilter(compiled.filter, { nr: 0x40000000, arch: X86_64.audit }).action, 'SCMP_ACT_NOTIFY');
  assert.equal(runFilter(compiled.filter, { nr: 999, arch: X86_64.audit }).action, 'SCMP_ACT_NOTIFY');
  assert.equal(compiled.defaultAction, TABLE_ACTION.refuse);
  assert.equal(compiled.defaultErrno, 38);
});

test('the supervisor table: pass, emulate, refuse with the policy errno, unlisted calls named for the audit log', () => {
  for (const name of ['open', 'openat', 'openat2', 'creat']) assert.equal(tableOf(name)?.action, TABLE_ACTION.pass, name);
  assert.equal(tableOf('uname')?.action, TABLE_ACTION.uname);
  assert.equal(tableOf('sysinfo')?.action, TABLE_ACTION.sysinfo);
  for (const name of ['mount', 'ptrace', 'bpf', 'init_module', 'keyctl', 'perf_event_open', 'open_by_handle_at', 'setns', 'chroot', 'io_uring_setup', 'userfaultfd']) {
    assert.deepEqual({ ...tableOf(name), nr: 0 }, { nr: 0, name, action: TABLE_ACTION.refuse, errno: 1 }, name);
  }
  assert.deepEqual(tableOf('ustat'), { nr: syscallNumber(X86_64, 'ustat'), name: 'ustat', action: TABLE_ACTION.refuse, errno: 38 });
  assert.equal(tableOf('read'), undefined);
  assert.ok(compiled.paths.some((p) => p.prefix === '/proc/sys' && p.deny === 1));
});

test('rules for containers sharing the host\'s pid namespace: directory listings reach the supervisor there only', () => {
  for (const name of ['getdents', 'getdents64']) {
    assert.equal(decide(name), 'SCMP_ACT_ALLOW', `${name}: a pid namespace of its own, the kernel's listing`);
    assert.equal(tableOf(name), undefined, name);
  }
  const shared = compilePolicy(defaultPolicy(), 'x64', { hostPidNamespace: true });
  assert.deepEqual(shared.warnings, []);
  for (const name of ['getdents', 'getdents64']) {
    const nr = syscallNumber(X86_64, name)!;
    assert.equal(runFilter(shared.filter, { nr, arch: X86_64.audit, args: [] }).action, 'SCMP_ACT_NOTIFY', name);
    assert.equal(shared.rules.find((r) => r.name === name)?.action, TABLE_ACTION.getdents, name);
  }
  // the rest is the same filter
  assert.equal(runFilter(shared.filter, { nr: syscallNumber(X86_64, 'read')!, arch: X86_64.audit, args: [] }).action, 'SCMP_ACT_ALLOW');
  assert.throws(() => parsePolicy({ ...defaultPolicy(), rules: [{ action: 'allow', syscalls: ['read'], for: 'host-net' }] }, 'p.json'), /for/);
});

test('the table actions are the plan format\'s SandboxAction (the C header is generated from it)', () => {
  assert.deepEqual(
    { CONTINUE: TABLE_ACTION.continue, REFUSE: TABLE_ACTION.refuse, OPEN: TABLE_ACTION.pass, UNAME: TABLE_ACTION.uname, SYSINFO: TABLE_ACTION.sysinfo, GETDENTS: TABLE_ACTION.getdents },
    { ...SandboxAction },
  );
});

test('mistakes in a policy are reported with the field', () => {
  const base = JSON.parse(readFileSync(policyFile, 'utf8')) as SandboxPolicy;
  const bad = (mut: (p: SandboxPolicy) => void): string => {
    const p = structuredClone(base);
    mut(p);
    try { compilePolicy(parsePolicy(p, 'test.json'), 'x64'); } catch (err) { return (err as Error).message; }
    return 'accepted';
  };
  assert.match(bad((p) => { p.rules[0]!.action = 'jump' as never; }), /test\.json: rules\.0\.action/);
  assert.match(bad((p) => { p.rules.push({ action: 'emulate', syscalls: ['mount'] }); }), /no emulator for "mount"/);
  assert.match(bad((p) => { p.rules.unshift({ action: 'allow', errno: 'EPERM', syscalls: ['read'] }); }), /errno and audit belong to refuse rules/);
  assert.match(bad((p) => { p.rules.unshift({ action: 'pass', syscalls: ['mount'] }); }), /cannot be passed through/);
  assert.match(bad((p) => { p.rules.unshift({ action: 'refuse', errno: 'EACCES', syscalls: ['uname'], when: [{ arg: 0, op: 'eq', value: 0 }] }); }), /one syscall has one supervisor action/);
  assert.match(bad((p) => { p.paths = [{ prefix: 'relative', deny: 'write' }]; }), /paths\.0\.prefix/);
});
