// The committed syscall tables match the kernel headers installed here, and
// spot checks against numbers every kernel has had for years.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AUDIT_ARCH, SYSCALLS_AARCH64, SYSCALLS_X32, SYSCALLS_X86, SYSCALLS_X86_64, X32_SYSCALL_BIT } from '../../src/runtime/seccomp/syscalls.generated.js';

test('syscalls.generated.ts is what scripts/gen-syscall-table.ts makes from /usr/include', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/gen-syscall-table.ts', '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('well-known numbers', () => {
  assert.deepEqual([SYSCALLS_X86_64['read'], SYSCALLS_X86_64['execve'], SYSCALLS_X86_64['clone3'], SYSCALLS_X86_64['openat2']], [0, 59, 435, 437]);
  assert.deepEqual([SYSCALLS_X86['exit'], SYSCALLS_X86['socketcall'], SYSCALLS_X86['mmap2'], SYSCALLS_X86['clone']], [1, 102, 192, 120]);
  assert.equal(SYSCALLS_X32['execve'], X32_SYSCALL_BIT + 520);
  assert.equal(SYSCALLS_X32['read'], X32_SYSCALL_BIT + 0);
  assert.deepEqual([SYSCALLS_AARCH64['openat'], SYSCALLS_AARCH64['clone'], SYSCALLS_AARCH64['mmap'], SYSCALLS_AARCH64['newfstatat']], [56, 220, 222, 79]);
  assert.equal(SYSCALLS_AARCH64['open'], undefined); // arm64 never had open(2)
  // Appended after the 6.1 headers: one number on every architecture.
  for (const t of [SYSCALLS_X86_64, SYSCALLS_X86, SYSCALLS_AARCH64]) assert.equal(t['fchmodat2'], 452);
  assert.equal(AUDIT_ARCH['X86_64'], 0xc000003e);
  assert.equal(AUDIT_ARCH['I386'], 0x40000003);
  assert.equal(AUDIT_ARCH['AARCH64'], 0xc00000b7);
});
