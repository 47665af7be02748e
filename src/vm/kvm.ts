/**
 * Whether a VM gets KVM or TCG. KVM when /dev/kvm exists — and works: on
 * some hosts (nested virtualisation without support, as on the machines
 * this was built on) /dev/kvm opens, yet a guest under it never gets past
 * its first instructions. So, unless configured ("kvm": true/false,
 * BERTH_VM_KVM=1/0), the first VM asks once: the guest kernel is booted
 * under KVM with no root file system; a KVM that works reaches the kernel's
 * panic within a second or two, and qemu (-no-reboot) exits by itself. The
 * answer is cached per host boot, qemu and kernel, so later VMs pay nothing.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/fs.js';
import type { Machine } from './machine.js';

export type KvmSetting = boolean | 'auto';

export interface KvmAnswer { usable: boolean; reason: string }

export function kvmOpens(dev = '/dev/kvm'): boolean {
  try { closeSync(openSync(dev, 'r+')); return true; } catch { return false; }
}

/** Boots `kernel` under KVM without a root: a working KVM ends in the kernel's panic and qemu's exit within the timeout. */
export function probeKvm(qemu: string, kernel: string, machine: Machine, timeoutMs: number): KvmAnswer {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-kvm-'));
  const console = join(dir, 'console');
  try {
    const r = spawnSync(qemu, [
      '-M', machine === 'microvm' ? 'microvm,x-option-roms=off,isa-serial=on,rtc=on' : 'q35',
      '-accel', 'kvm', '-cpu', 'host', '-m', '128', '-smp', '1',
      '-nodefaults', '-no-user-config', '-nographic', '-no-reboot', '-serial', `file:${console}`,
      '-kernel', kernel, '-append', 'console=ttyS0 loglevel=4 panic=-1 reboot=t pci=off root=/dev/berth-none',
    ], { stdio: 'ignore', timeout: timeoutMs, killSignal: 'SIGKILL' });
    let text = '';
    try { text = readFileSync(console, 'utf8'); } catch { /* qemu did not start */ }
    if (r.status === null) return { usable: false, reason: `a guest under kvm did not reach its kernel's panic within ${timeoutMs} ms` };
    if (!/Kernel panic/.test(text)) return { usable: false, reason: `qemu with kvm exited ${r.status} before the guest kernel ran` };
    return { usable: true, reason: 'a guest under kvm booted' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function bootId(): string {
  try { return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); } catch { return ''; }
}

export interface KvmChoice {
  setting: KvmSetting;
  qemu: string;
  kernel: string;
  machine: Machine;
  cacheDir: string;
  probeTimeoutMs: number;
  /** for tests: another device node, another probe */
  dev?: string;
  probe?: typeof probeKvm;
}

/** KVM or TCG for the next VM, and why. */
export function chooseAccel(c: KvmChoice): { accel: 'kvm' | 'tcg'; reason: string } {
  if (c.setting === false) return { accel: 'tcg', reason: 'kvm is off in the configuration' };
  if (!kvmOpens(c.dev)) return { accel: 'tcg', reason: `${c.dev ?? '/dev/kvm'} does not open` };
  if (c.setting === true) return { accel: 'kvm', reason: 'kvm is on in the configuration' };
  const key = createHash('sha256').update([bootId(), c.qemu, c.kernel, c.machine].join('\0')).digest('hex').slice(0, 16);
  const file = join(c.cacheDir, `kvm-probe-${key}.json`);
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as KvmAnswer;
    return { accel: cached.usable ? 'kvm' : 'tcg', reason: `${cached.reason} (probed before)` };
  } catch { /* not probed yet on this boot */ }
  const answer = (c.probe ?? probeKvm)(c.qemu, c.kernel, c.machine, c.probeTimeoutMs);
  try { mkdirSync(c.cacheDir, { recursive: true }); writeFileAtomic(file, JSON.stringify(answer), 0o644, false); } catch { /* probed again next time */ }
  return { accel: answer.usable ? 'kvm' : 'tcg', reason: answer.reason };
}
