/**
 * KVM or TCG: configured on or off, /dev/kvm missing, or (auto) the probe's
 * answer, asked once and then read from the cache. The probe itself runs
 * against stand-in qemu scripts: one whose guest reaches the kernel's panic
 * (a working KVM), one that hangs (a KVM whose guest never runs), one that
 * fails at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseAccel, probeKvm, type KvmAnswer } from '../../src/vm/kvm.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-kvm-unit-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

function fakeQemu(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\nfor a; do case $a in file:*) f=\${a#file:};; esac; done\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

test('kvm: off, on, a /dev/kvm that does not open, and the probe asked once per boot', () => {
  withDir((dir) => {
    const dev = join(dir, 'kvm');
    writeFileSync(dev, '');
    let probes = 0;
    const answer: KvmAnswer = { usable: false, reason: 'hung' };
    const probe = (): KvmAnswer => { probes++; return answer; };
    const base = { qemu: '/q', kernel: '/k', machine: 'microvm' as const, cacheDir: join(dir, 'cache'), probeTimeoutMs: 100, dev, probe };
    assert.equal(chooseAccel({ ...base, setting: false }).accel, 'tcg');
    assert.equal(chooseAccel({ ...base, setting: true }).accel, 'kvm');
    assert.equal(chooseAccel({ ...base, setting: true, dev: join(dir, 'none') }).accel, 'tcg', 'no /dev/kvm: tcg even when asked');
    assert.equal(probes, 0, 'a configured choice is not probed');
    const first = chooseAccel({ ...base, setting: 'auto' });
    assert.deepEqual(first, { accel: 'tcg', reason: 'hung' });
    answer.usable = true;
    assert.equal(chooseAccel({ ...base, setting: 'auto' }).accel, 'tcg', 'the cached answer stands');
    assert.equal(probes, 1);
    assert.equal(chooseAccel({ ...base, setting: 'auto', kernel: '/other' }).accel, 'kvm', 'another kernel is probed anew');
    assert.equal(probes, 2);
    assert.equal(readdirSync(base.cacheDir).filter((f) => f.startsWith('kvm-probe-')).length, 2);
  });
});

test('the probe: a guest that reaches its panic is kvm; one that hangs or never starts is not', () => {
  withDir((dir) => {
    const works = fakeQemu(dir, 'works', 'echo "Kernel panic - not syncing: VFS: Unable to mount root fs" > "$f"; exit 0');
    assert.deepEqual(probeKvm(works, '/k', 'microvm', 5000), { usable: true, reason: 'a guest under kvm booted' });
    const hangs = fakeQemu(dir, 'hangs', 'echo "Booting" > "$f"; exec sleep 30');
    const t0 = Date.now();
    const h = probeKvm(hangs, '/k', 'microvm', 300);
    assert.equal(h.usable, false);
    assert.match(h.reason, /did not reach its kernel's panic within 300 ms/);
    assert.ok(Date.now() - t0 < 5000, 'the hung guest is killed at the timeout');
    const fails = fakeQemu(dir, 'fails', 'echo "could not access KVM kernel module" >&2; exit 1');
    assert.match(probeKvm(fails, '/k', 'q35', 5000).reason, /exited 1 before the guest kernel ran/);
  });
});
