// The name tables: capabilities, signals, rlimits, namespaces, seccomp names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import {
  CAPABILITY_NAMES, CAP_LAST_CAP, capabilityMask, capabilityName, capabilityNumber, parseCapability,
} from '../../src/runtime/spec/capabilities.js';
import { parseSignal, signalName } from '../../src/runtime/spec/signals.js';
import { RLIMITS, parseRlimit, rlimitResource } from '../../src/runtime/spec/rlimits.js';
import { NAMESPACES, namespaceByFlag, namespaceByProcName, namespaceKind, namespacePath } from '../../src/runtime/spec/namespaces.js';
import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, isSeccompAction } from '../../src/runtime/spec/seccomp-names.js';
import { dottedSysctl, sysctlFile, sysctlOwner } from '../../src/runtime/spec/sysctl.js';

/** `#define NAME value` pairs of a kernel header, when the header is installed. */
function defines(file: string, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(file)) return out;
  for (const m of readFileSync(file, 'utf8').matchAll(new RegExp(`#\\s*define\\s+(${prefix}\\w+)\\s+(0x[0-9a-fA-F]+|\\d+)U?\\b`, 'g'))) {
    out.set(m[1], Number(m[2]));
  }
  return out;
}

test('capabilities match linux/capability.h, 0 … 40', () => {
  const header = defines('/usr/include/linux/capability.h', 'CAP_');
  assert.equal(CAP_LAST_CAP, 40);
  CAPABILITY_NAMES.forEach((name, n) => {
    if (header.size > 0) assert.equal(header.get(name), n, name);
    assert.equal(capabilityNumber(name), n);
  });
});

test('capability names parse in every accepted form', () => {
  assert.equal(parseCapability('CAP_SYS_ADMIN'), 21);
  assert.equal(parseCapability('SYS_ADMIN'), 21);
  assert.equal(parseCapability('cap_sys_admin'), 21);
  assert.equal(capabilityName(40), 'CAP_CHECKPOINT_RESTORE');
  assert.equal(capabilityName(41), undefined);
  assert.equal(capabilityNumber('CAP_FLY'), undefined);
  assert.throws(() => parseCapability('FLY'), { message: 'unknown capability "FLY"' });
  assert.equal(capabilityMask(['CAP_CHOWN', 'CAP_KILL', 'CAP_CHECKPOINT_RESTORE']), (1n << 0n) | (1n << 5n) | (1n << 40n));
});

test('signals parse by name, with or without SIG, any case, and by number', () => {
  assert.equal(parseSignal('KILL'), 9);
  assert.equal(parseSignal('SIGKILL'), 9);
  assert.equal(parseSignal('sigterm'), 15);
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('0'), 0);
  assert.equal(parseSignal('SIGRTMIN'), 34);
  assert.equal(parseSignal('SIGRTMIN+3'), 37);
  assert.equal(parseSignal('RTMAX-1'), 63);
  assert.equal(parseSignal('IOT'), 6);
  assert.equal(parseSignal('WINCH'), 28);
  for (const bad of ['FOO', 'SIGRTMIN+31', '65', '-9', '', 'SIG']) {
    assert.throws(() => parseSignal(bad), { message: `unknown signal "${bad}"` });
  }
});

test('signal numbers have names; every name parses back to its number', () => {
  assert.equal(signalName(9), 'SIGKILL');
  assert.equal(signalName(6), 'SIGABRT');
  assert.equal(signalName(37), 'SIGRTMIN+3');
  assert.equal(signalName(63), 'SIGRTMAX-1');
  assert.equal(signalName(32), undefined);
  for (let n = 1; n <= 64; n++) {
    const name = signalName(n);
    if (name !== undefined) assert.equal(parseSignal(name), n, name);
  }
});

test('rlimits match asm-generic/resource.h', () => {
  const header = defines('/usr/include/asm-generic/resource.h', 'RLIMIT_');
  for (const [name, n] of Object.entries(RLIMITS)) {
    if (header.size > 0) assert.equal(header.get(name), n, name);
    assert.equal(rlimitResource(name), n);
  }
  assert.equal(parseRlimit('RLIMIT_NOFILE'), 7);
  assert.throws(() => parseRlimit('NOFILE'), { message: 'unknown rlimit type "NOFILE"' });
});

test('namespaces: OCI type ↔ CLONE_NEW* flag ↔ /proc/<pid>/ns name', () => {
  const header = defines('/usr/include/linux/sched.h', 'CLONE_NEW');
  const flagNames: Record<string, string> = {
    pid: 'CLONE_NEWPID', network: 'CLONE_NEWNET', mount: 'CLONE_NEWNS', ipc: 'CLONE_NEWIPC',
    uts: 'CLONE_NEWUTS', user: 'CLONE_NEWUSER', cgroup: 'CLONE_NEWCGROUP', time: 'CLONE_NEWTIME',
  };
  for (const kind of Object.values(NAMESPACES)) {
    if (header.size > 0) assert.equal(header.get(flagNames[kind.type]), kind.flag, kind.type);
    assert.equal(namespaceByFlag(kind.flag), kind);
    assert.equal(namespaceByProcName(kind.procName), kind);
    assert.ok(existsSync(`/proc/self/ns/${kind.procName}`), `/proc/self/ns/${kind.procName}`);
  }
  assert.equal(namespacePath(1, 'network'), '/proc/1/ns/net');
  assert.equal(namespaceKind('mount').procName, 'mnt');
  assert.throws(() => namespaceKind('foo'), { message: 'unknown namespace type "foo"' });
});

test('seccomp names carry the kernel values', () => {
  const seccompH = defines('/usr/include/linux/seccomp.h', 'SECCOMP_');
  if (seccompH.size > 0) {
    assert.equal(SECCOMP_ACTIONS.SCMP_ACT_ALLOW, seccompH.get('SECCOMP_RET_ALLOW'));
    assert.equal(SECCOMP_ACTIONS.SCMP_ACT_ERRNO, seccompH.get('SECCOMP_RET_ERRNO'));
    assert.equal(SECCOMP_ACTIONS.SCMP_ACT_KILL_PROCESS, seccompH.get('SECCOMP_RET_KILL_PROCESS'));
    assert.equal(SECCOMP_ACTIONS.SCMP_ACT_NOTIFY, seccompH.get('SECCOMP_RET_USER_NOTIF'));
    assert.equal(SECCOMP_ACTIONS.SCMP_ACT_LOG, seccompH.get('SECCOMP_RET_LOG'));
    assert.equal(SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 1 << 5);
  }
  assert.equal(SECCOMP_ARCHES.SCMP_ARCH_X86_64, 0xc000003e);
  assert.equal(SECCOMP_ARCHES.SCMP_ARCH_AARCH64, 0xc00000b7);
  assert.ok(isSeccompAction('SCMP_ACT_TRAP'));
  assert.ok(!isSeccompAction('toString'));
});

test('sysctl keys: owners as runc decides, slash form, /proc/sys file', () => {
  assert.equal(sysctlOwner('net.ipv4.ip_forward'), 'network');
  assert.equal(sysctlOwner('net/ipv4/ip_forward'), 'network');
  assert.equal(sysctlOwner('kernel.sem'), 'ipc');
  assert.equal(sysctlOwner('fs.mqueue.queues_max'), 'ipc');
  assert.equal(sysctlOwner('kernel.domainname'), 'uts');
  assert.equal(sysctlOwner('kernel.hostname'), 'hostname');
  assert.equal(sysctlOwner('kernel.pid_max'), 'host');
  assert.equal(dottedSysctl('net/ipv4/conf/eno2.100/rp_filter'), 'net.ipv4.conf.eno2/100.rp_filter');
  assert.equal(sysctlFile('net.ipv4.conf.eno2/100.rp_filter'), '/proc/sys/net/ipv4/conf/eno2.100/rp_filter');
  assert.equal(sysctlFile('net/ipv4/ip_forward'), '/proc/sys/net/ipv4/ip_forward');
});
