// Berth's default profile, compiled and questioned through the interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileSeccomp, defaultSeccompProfile, runFilter, checkFilter, archByName, syscallNumber,
  DEFAULT_ALLOWED_SYSCALLS, SYSCALLS_BY_CAPABILITY,
} from '../../src/runtime/seccomp/index.js';

const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const AARCH64 = 0xc00000b7;
const x64 = archByName('SCMP_ARCH_X86_64')!;
const x86 = archByName('SCMP_ARCH_X86')!;
const a64 = archByName('SCMP_ARCH_AARCH64')!;
const x32 = archByName('SCMP_ARCH_X32')!;

/** Docker's default capability set. */
const DOCKER_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

function filterFor(caps: string[], arch = 'x64'): Buffer {
  const c = compileSeccomp(defaultSeccompProfile({ capabilities: caps, arch }), { nativeArch: arch });
  checkFilter(c.filter);
  return c.filter;
}

function decide(filter: Buffer, name: string, args: (number | bigint)[] = [], archInfo = x64, audit = X86_64): string {
  const nr = syscallNumber(archInfo, name);
  assert.ok(nr !== undefined, `${name} has no number on ${archInfo.name}`);
  const d = runFilter(filter, { nr, arch: audit, args });
  return d.action === 'SCMP_ACT_ERRNO' ? `ERRNO(${d.data})` : d.action.replace('SCMP_ACT_', '');
}

const ORDINARY = ['read', 'write', 'openat', 'close', 'mmap', 'munmap', 'mprotect', 'brk', 'execve', 'futex', 'exit_group',
  'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'socket', 'connect', 'bind', 'listen', 'accept4', 'sendmsg',
  'recvmsg', 'newfstatat', 'statx', 'getdents64', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'wait4', 'getpid',
  'getrandom', 'pipe2', 'dup3', 'fcntl', 'ioctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'arch_prctl',
  'clock_gettime', 'clock_nanosleep', 'nanosleep', 'madvise', 'uname', 'getcwd', 'chdir', 'mkdirat', 'unlinkat', 'renameat2',
  'fchownat', 'fchmodat', 'utimensat', 'sched_getaffinity', 'eventfd2', 'timerfd_create', 'inotify_init1', 'setuid', 'setgroups',
  'capget', 'capset', 'prctl', 'kill', 'tgkill', 'vfork', 'fork', 'close_range', 'openat2', 'faccessat2', 'copy_file_range',
  'memfd_create', 'membarrier', 'pidfd_open', 'sendfile', 'mremap', 'shmget', 'semop', 'mq_open', 'io_submit', 'seccomp', 'landlock_create_ruleset'];

const REFUSED = ['mount', 'umount2', 'unshare', 'setns', 'keyctl', 'add_key', 'request_key', 'ptrace', 'bpf', 'perf_event_open',
  'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'open_by_handle_at', 'name_to_handle_at',
  'reboot', 'swapon', 'swapoff', 'pivot_root', 'chroot', 'acct', 'settimeofday', 'clock_settime', 'adjtimex', 'iopl', 'ioperm',
  'lookup_dcookie', 'userfaultfd', 'fanotify_init', 'process_vm_readv', 'process_vm_writev', 'io_uring_setup', 'fsopen',
  'open_tree', 'move_mount', 'sethostname', 'syslog', 'vhangup', 'get_mempolicy', 'mbind', 'quotactl', 'nfsservctl', 'uselib'];

test('an ordinary program\'s syscalls pass', () => {
  const f = filterFor([]);
  for (const n of ORDINARY) assert.equal(decide(f, n), 'ALLOW', n);
  // clone without namespace flags (what fork/pthread_create do)
  assert.equal(decide(f, 'clone', [0x01200011]), 'ALLOW'); // CLONE_CHILD_SETTID|CLEARTID|SIGCHLD
  assert.equal(decide(f, 'clone', [0x003d0f00]), 'ALLOW'); // pthread_create's flags
});

test('the refused list is refused without capabilities and with Docker\'s default set', () => {
  for (const caps of [[], DOCKER_CAPS.filter((c) => c !== 'CAP_SYS_CHROOT')]) {
    const f = filterFor(caps);
    for (const n of REFUSED) assert.equal(decide(f, n), 'ERRNO(1)', `${n} with ${caps.length} caps`);
  }
  assert.equal(decide(filterFor(DOCKER_CAPS), 'chroot'), 'ALLOW');
});

test('clone with namespace flags is refused, clone3 answers ENOSYS so libc falls back', () => {
  const f = filterFor(DOCKER_CAPS);
  for (const flag of [0x00020000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x02000000]) {
    assert.equal(decide(f, 'clone', [0x11 | flag]), 'ERRNO(1)', `flag 0x${flag.toString(16)}`);
  }
  assert.equal(decide(f, 'clone3'), 'ERRNO(38)');
});

test('CAP_SYS_ADMIN opens the namespace and mount calls, not the rest', () => {
  const f = filterFor([...DOCKER_CAPS, 'CAP_SYS_ADMIN']);
  for (const n of ['mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'sethostname', 'bpf', 'perf_event_open', 'fsopen', 'name_to_handle_at']) {
    assert.equal(decide(f, n), 'ALLOW', n);
  }
  assert.equal(decide(f, 'clone', [0x40000000 | 0x11]), 'ALLOW');
  assert.equal(decide(f, 'clone3'), 'ALLOW');
  for (const n of ['keyctl', 'add_key', 'request_key', 'ptrace', 'init_module', 'reboot', 'kexec_load', 'settimeofday', 'iopl', 'acct', 'io_uring_setup', 'nfsservctl']) {
    assert.equal(decide(f, n), 'ERRNO(1)', n);
  }
});

test('each capability opens its own syscalls', () => {
  const cases: [string, string[]][] = [
    ['CAP_SYS_PTRACE', ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp']],
    ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
    ['CAP_SYS_BOOT', ['reboot', 'kexec_load']],
    ['CAP_SYS_TIME', ['settimeofday', 'clock_settime', 'adjtimex', 'clock_adjtime']],
    ['CAP_SYS_CHROOT', ['chroot']],
    ['SYS_PACCT', ['acct']], // the CAP_ prefix is optional
    ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
    ['CAP_SYS_NICE', ['get_mempolicy', 'set_mempolicy', 'mbind', 'move_pages']],
    ['CAP_BPF', ['bpf']],
    ['CAP_PERFMON', ['perf_event_open']],
    ['CAP_SYSLOG', ['syslog']],
    ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
  ];
  for (const [cap, names] of cases) {
    const without = filterFor([]);
    const withCap = filterFor([cap]);
    for (const n of names) {
      assert.equal(decide(without, n), 'ERRNO(1)', `${n} without ${cap}`);
      assert.equal(decide(withCap, n), 'ALLOW', `${n} with ${cap}`);
    }
    if (cap !== 'CAP_SYS_ADMIN') assert.equal(decide(withCap, 'mount'), 'ERRNO(1)', `mount with ${cap}`);
  }
});

test('personality: only the safe domains', () => {
  const f = filterFor([]);
  for (const v of [0, 8, 0x20000, 0x20008, 0xffffffff]) assert.equal(decide(f, 'personality', [v]), 'ALLOW', `0x${v.toString(16)}`);
  for (const v of [0x0040000 /* ADDR_NO_RANDOMIZE */, 0x400000 /* READ_IMPLIES_EXEC */, 1, 0x1_0000_0000n]) {
    assert.equal(decide(f, 'personality', [v]), 'ERRNO(1)', `0x${v.toString(16)}`);
  }
});

test('the 32-bit and x32 ABIs of an x86_64 host get the same policy', () => {
  const f = filterFor([]);
  for (const n of ['read', 'write', 'mmap2', 'socketcall', '_llseek', 'execve', 'exit_group']) assert.equal(decide(f, n, [], x86, I386), 'ALLOW', n);
  for (const n of ['mount', 'unshare', 'keyctl', 'ptrace']) assert.equal(decide(f, n, [], x86, I386), 'ERRNO(1)', n);
  assert.equal(decide(f, 'clone', [0x10000000], x86, I386), 'ERRNO(1)');
  assert.equal(decide(f, 'clone', [0x11], x86, I386), 'ALLOW');
  for (const n of ['read', 'execve', 'openat']) assert.equal(decide(f, n, [], x32, X86_64), 'ALLOW', `x32 ${n}`);
  assert.equal(decide(f, 'unshare', [], x32, X86_64), 'ERRNO(1)');
});

test('on arm64 the profile lists arm64 and uses its numbers', () => {
  const p = defaultSeccompProfile({ capabilities: [], arch: 'arm64' });
  assert.deepEqual(p.architectures, ['SCMP_ARCH_AARCH64']);
  const f = filterFor([], 'arm64');
  for (const n of ['read', 'openat', 'clone', 'execve', 'newfstatat', 'renameat']) {
    assert.equal(decide(f, n, n === 'clone' ? [0x11] : [], a64, AARCH64), 'ALLOW', n);
  }
  for (const n of ['mount', 'unshare', 'ptrace']) assert.equal(decide(f, n, [], a64, AARCH64), 'ERRNO(1)', n);
  assert.equal(runFilter(f, { nr: 0, arch: X86_64 }).action, 'SCMP_ACT_KILL_THREAD');
});

test('every syscall the profile names exists on some architecture Berth knows', () => {
  const tables = [x64, x86, x32, a64];
  const names = [...DEFAULT_ALLOWED_SYSCALLS, ...Object.values(SYSCALLS_BY_CAPABILITY).flat(), 'personality', 'clone', 'clone3'];
  const unknown = names.filter((n) => tables.every((t) => syscallNumber(t, n) === undefined));
  assert.deepEqual(unknown, []);
});

test('compiling a Docker-sized profile is fast', () => {
  const profile = defaultSeccompProfile({ capabilities: [...DOCKER_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_NICE'] });
  const count = profile.syscalls!.reduce((n, r) => n + r.names.length, 0);
  assert.ok(count >= 330, `only ${count} syscall names`);
  for (let i = 0; i < 10; i++) compileSeccomp(profile, { nativeArch: 'x64' });
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = process.hrtime.bigint();
    compileSeccomp(profile, { nativeArch: 'x64' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[10]!;
  console.log(`# seccomp: ${count} names, 3 ABIs: median compile ${median.toFixed(3)} ms (min ${times[0]!.toFixed(3)} ms)`);
  assert.ok(median < 20, `median ${median} ms`);
});
