/**
 * The attach warmer's target: the cgroup.procs of the cgroup the core is
 * already in, read from /proc/self/cgroup — the unified hierarchy on a v2
 * host, the first mounted controller hierarchy on v1/hybrid (never a named
 * one such as systemd's), nothing when none is there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownProcsFile } from '../../src/core/tasks/attach-warmer.js';

function fakeRoot(files: string[], fn: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'berth-warmer-'));
  try {
    for (const f of files) { mkdirSync(join(root, f, '..'), { recursive: true }); writeFileSync(join(root, f), ''); }
    fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const HYBRID = '9:name=systemd:/user.slice\n8:pids:/user.slice/x\n4:memory:/api/abc\n1:cpu,cpuacct:/\n0::/user.slice\n';

test('v1/hybrid: the first mounted controller hierarchy, the named one skipped', () => fakeRoot(
  ['systemd/user.slice/cgroup.procs', 'pids/user.slice/x/cgroup.procs', 'memory/api/abc/cgroup.procs'],
  (root) => assert.equal(ownProcsFile(HYBRID, root), join(root, 'pids/user.slice/x/cgroup.procs')),
));

test('v1: a hierarchy not mounted where expected is passed over', () => fakeRoot(
  ['memory/api/abc/cgroup.procs'],
  (root) => assert.equal(ownProcsFile(HYBRID, root), join(root, 'memory/api/abc/cgroup.procs')),
));

test('v2: the unified hierarchy', () => fakeRoot(
  ['cgroup.controllers', 'system.slice/core.service/cgroup.procs'],
  (root) => assert.equal(ownProcsFile('0::/system.slice/core.service\n', root), join(root, 'system.slice/core.service/cgroup.procs')),
));

test('nothing usable: undefined', () => fakeRoot([], (root) => {
  assert.equal(ownProcsFile(HYBRID, root), undefined);
  assert.equal(ownProcsFile('', root), undefined);
}));
