// cgroupsPath semantics (absolute, relative to the caller, unset, systemd)
// and hierarchy detection, against plain directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCgroup } from '../../src/runtime/cgroups/manager.js';
import { detectLayout } from '../../src/runtime/cgroups/layout.js';
import { parseProcCgroup } from '../../src/runtime/cgroups/path.js';
import { BerthError } from '../../src/common/errors.js';

function fakeRoots(): { v1: string; v2: string; proc: string; base: string } {
  const base = mkdtempSync(join(tmpdir(), 'berth-cg-path-'));
  const v1 = join(base, 'v1');
  for (const c of ['cpu,cpuacct', 'memory', 'pids', 'systemd', 'notacontroller']) mkdirSync(join(v1, c), { recursive: true });
  const v2 = join(base, 'v2');
  mkdirSync(v2, { recursive: true });
  writeFileSync(join(v2, 'cgroup.controllers'), 'memory pids');
  const proc = join(base, 'proc');
  mkdirSync(join(proc, '77'), { recursive: true });
  writeFileSync(join(proc, '77', 'cgroup'), '5:pids:/user/p\n4:memory:/user/mem\n2:cpu,cpuacct:/user/cpu\n1:name=systemd:/user/sd\n0::/user/v2\n');
  return { v1, v2, proc, base };
}

const isError = (kind: string, re: RegExp) => (e: unknown): boolean => e instanceof BerthError && e.kind === kind && re.test(e.message);

test('layout: unified, legacy, joint mounts by name', () => {
  const r = fakeRoots();
  try {
    assert.equal(detectLayout(r.v2).mode, 'unified');
    const l = detectLayout(r.v1);
    assert.equal(l.mode, 'legacy');
    if (l.mode === 'legacy') {
      assert.equal(l.mounts.cpu, join(r.v1, 'cpu,cpuacct'));
      assert.equal(l.mounts.cpuacct, join(r.v1, 'cpu,cpuacct'));
      assert.equal(l.mounts['name=systemd'], join(r.v1, 'systemd'));
      assert.equal(l.mounts.notacontroller, undefined);
    }
    assert.throws(() => detectLayout(join(r.base, 'proc')), isError('unavailable', /no cgroup hierarchy/));
  } finally {
    rmSync(r.base, { recursive: true, force: true });
  }
});

test('path: absolute is under each hierarchy root, unset is /<id>', () => {
  const r = fakeRoots();
  try {
    const abs = openCgroup({ cgroupsPath: '/docker/abc', id: 'abc', systemd: false, root: r.v1 });
    assert.equal(abs.paths.memory, join(r.v1, 'memory', 'docker', 'abc'));
    assert.equal(abs.paths.cpu, join(r.v1, 'cpu,cpuacct', 'docker', 'abc'));
    const unset = openCgroup({ cgroupsPath: undefined, id: 'abc', systemd: false, root: r.v2 });
    assert.deepEqual(unset.paths, { '': join(r.v2, 'abc') });
    // ".." in an absolute path cannot climb above the root
    const dots = openCgroup({ cgroupsPath: '/../../x', id: 'abc', systemd: false, root: r.v2 });
    assert.deepEqual(dots.paths, { '': join(r.v2, 'x') });
  } finally {
    rmSync(r.base, { recursive: true, force: true });
  }
});

test('path: relative is under the caller\'s cgroup in each hierarchy', () => {
  const r = fakeRoots();
  try {
    const v1 = openCgroup({ cgroupsPath: 'ctr/abc', id: 'abc', systemd: false, root: r.v1, callerPid: 77, procRoot: r.proc });
    assert.equal(v1.paths.memory, join(r.v1, 'memory', 'user', 'mem', 'ctr', 'abc'));
    assert.equal(v1.paths.cpuacct, join(r.v1, 'cpu,cpuacct', 'user', 'cpu', 'ctr', 'abc'));
    assert.equal(v1.paths['name=systemd'], join(r.v1, 'systemd', 'user', 'sd', 'ctr', 'abc'));
    const v2 = openCgroup({ cgroupsPath: 'abc', id: 'abc', systemd: false, root: r.v2, callerPid: 77, procRoot: r.proc });
    assert.deepEqual(v2.paths, { '': join(r.v2, 'user', 'v2', 'abc') });
    assert.throws(() => openCgroup({ cgroupsPath: '../../../etc', id: 'abc', systemd: false, root: r.v2, callerPid: 77, procRoot: r.proc }),
      isError('invalid-argument', /outside the hierarchy/));
    assert.throws(() => openCgroup({ cgroupsPath: '../..', id: 'abc', systemd: false, root: r.v2, callerPid: 77, procRoot: r.proc }),
      isError('invalid-argument', /root of the hierarchy/));
    assert.throws(() => openCgroup({ cgroupsPath: 'x', id: 'abc', systemd: false, root: r.v2, callerPid: 78, procRoot: r.proc }),
      isError('not-found', /cgroups of process 78/));
  } finally {
    rmSync(r.base, { recursive: true, force: true });
  }
});

test('path: systemd driver and bad ids are refused clearly', () => {
  const r = fakeRoots();
  try {
    assert.throws(() => openCgroup({ cgroupsPath: 'system.slice:docker:abc', id: 'abc', systemd: false, root: r.v2 }),
      isError('invalid-argument', /^systemd cgroup driver is not supported yet: /));
    assert.throws(() => openCgroup({ cgroupsPath: '/x', id: 'abc', systemd: true, root: r.v2 }),
      isError('invalid-argument', /^systemd cgroup driver is not supported yet: /));
    assert.throws(() => openCgroup({ cgroupsPath: undefined, id: '..', systemd: false, root: r.v2 }), isError('invalid-argument', /container id/));
  } finally {
    rmSync(r.base, { recursive: true, force: true });
  }
});

test('parseProcCgroup splits joint controllers', () => {
  assert.deepEqual(parseProcCgroup('2:cpu,cpuacct:/a\n1:name=systemd:/b\n0::/c\n'), { cpu: '/a', cpuacct: '/a', 'name=systemd': '/b', '': '/c' });
});
