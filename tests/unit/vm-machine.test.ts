/**
 * berth-vm's decisions without a VM: the machine type a kernel gets
 * (microvm where it boots, q35 otherwise), the qemu command line of each,
 * the VM's size and the host cgroup's limits from the container's
 * resources, and where the guest kernel is found (configured or cached).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseMachine, kernelConfigPath, microvmObstacle, parseKernelConfig } from '../../src/vm/machine.js';
import { kernelCmdline, qemuArgs, type VmLayout } from '../../src/vm/qemu.js';
import { hostResources } from '../../src/vm/limits.js';
import { vmSize } from '../../src/vm/create.js';
import { cachedKernel, loadVmConfig } from '../../src/vm/config.js';
import { guestModules } from '../../src/vm/initramfs.js';
import type { Spec } from '../../src/runtime/spec/types.js';

const DEBIAN_CLOUD = 'CONFIG_ACPI=y\nCONFIG_PVH=y\nCONFIG_VIRTIO_MMIO=m\n# CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES is not set\nCONFIG_VIRTIO_PCI=m\n';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-unit-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

test('a kernel with virtio-mmio, ACPI and PVH gets microvm; one without gets q35, with the reason', () => {
  withDir((dir) => {
    const elf = join(dir, 'vmlinux-6.1.0-test');
    writeFileSync(elf, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1]));
    const bz = join(dir, 'vmlinuz-6.1.0-test');
    writeFileSync(bz, Buffer.from('MZ\0\0HdrS'));
    assert.equal(chooseMachine('auto', elf, DEBIAN_CLOUD).machine, 'microvm');
    const noMmio = chooseMachine('auto', bz, 'CONFIG_ACPI=y\nCONFIG_VIRTIO_PCI=y\n');
    assert.equal(noMmio.machine, 'q35');
    assert.match(noMmio.reason, /CONFIG_VIRTIO_MMIO/);
    // no ACPI and no command-line devices: microvm's virtio-mmio devices cannot be found
    assert.equal(chooseMachine('auto', bz, 'CONFIG_VIRTIO_MMIO=y\n').machine, 'q35');
    assert.equal(chooseMachine('auto', bz, 'CONFIG_VIRTIO_MMIO=y\nCONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y\n').machine, 'microvm');
    // an ELF vmlinux boots on microvm only through the PVH entry; the bzImage of the same kernel does not need it
    const noPvh = 'CONFIG_ACPI=y\nCONFIG_VIRTIO_MMIO=m\n';
    assert.equal(chooseMachine('auto', elf, noPvh).machine, 'q35');
    assert.equal(chooseMachine('auto', bz, noPvh).machine, 'microvm');
    // a configured machine is taken as is
    assert.equal(chooseMachine('q35', elf, DEBIAN_CLOUD).machine, 'q35');
    assert.equal(chooseMachine('microvm', bz, 'CONFIG_VIRTIO_PCI=y\n').machine, 'microvm');
    // the config is read from beside the kernel, as Debian ships it
    assert.equal(kernelConfigPath(elf), undefined);
    assert.equal(chooseMachine('auto', elf).machine, 'microvm', 'no config: assumed microvm-ready');
    writeFileSync(join(dir, 'config-6.1.0-test'), 'CONFIG_VIRTIO_PCI=y\n');
    assert.equal(kernelConfigPath(elf), join(dir, 'config-6.1.0-test'));
    assert.equal(chooseMachine('auto', elf).machine, 'q35');
  });
  assert.equal(microvmObstacle(parseKernelConfig(DEBIAN_CLOUD), true), undefined);
});

const layout = (over: Partial<VmLayout> = {}): VmLayout => ({
  dir: '/run/berth/vm/c1', kernel: '/k', initramfs: '/i', rootfs: '/r', memoryMiB: 300, cpus: 2, kvm: false, machine: 'microvm', ...over,
});
const devices = (args: string[]): string[] => args.flatMap((a, i) => (args[i - 1] === '-device' ? [a.split(',')[0]!] : []));

test('qemu command lines: microvm with virtio-mmio devices, q35 with virtio-pci ones and a PCI bus to probe', () => {
  const m = qemuArgs('qemu', layout({ tap: { name: 'tapc1', mac: '02:42:ac:11:00:02' } }), 2_000_000);
  assert.match(m[m.indexOf('-M') + 1]!, /^microvm,/);
  assert.deepEqual(devices(m), ['vhost-user-fs-device', 'virtio-serial-device', 'virtserialport', 'virtio-net-device']);
  assert.match(m[m.indexOf('-append') + 1]!, / pci=off /);
  assert.ok(m.includes('virtio-mmio.force-legacy=false'));
  assert.equal(m[m.indexOf('-smp') + 1], '2');
  assert.equal(m[m.indexOf('-m') + 1], '300M');
  assert.equal(m[m.indexOf('-accel') + 1], 'tcg');

  const q = qemuArgs('qemu', layout({ machine: 'q35', tap: { name: 'tapc1', mac: '02:42:ac:11:00:02' }, tcgBufferMiB: 64 }), 2_000_000);
  assert.match(q[q.indexOf('-M') + 1]!, /^q35,memory-backend=mem,/);
  assert.deepEqual(devices(q), ['vhost-user-fs-pci', 'virtio-serial-pci', 'virtserialport', 'virtio-net-pci']);
  assert.doesNotMatch(q[q.indexOf('-append') + 1]!, /pci=off/);
  assert.ok(!q.includes('virtio-mmio.force-legacy=false'));
  assert.equal(q[q.indexOf('-accel') + 1], 'tcg,tb-size=64');
  const k = qemuArgs('qemu', layout({ kvm: true, tcgBufferMiB: 64 }), 1);
  assert.equal(k[k.indexOf('-accel') + 1], 'kvm', 'no translation buffer under KVM');
  assert.match(kernelCmdline(2_345_678), /tsc_early_khz=2345678/);
  assert.deepEqual(guestModules('microvm')[0], 'virtio_mmio');
  assert.deepEqual(guestModules('q35')[0], 'virtio_pci');
});

const spec = (resources: Record<string, unknown>): Spec => ({ ociVersion: '1.2.0', linux: { resources } } as unknown as Spec);

test('limits: memory sizes the guest RAM, cpus the vCPUs; the host cgroup bounds the whole VM', () => {
  assert.deepEqual(vmSize(spec({}), 256), { memoryMiB: 256, cpus: 1 });
  assert.deepEqual(vmSize(spec({ memory: { limit: 300 * 1024 * 1024 }, cpu: { quota: 150000, period: 100000 } }), 256), { memoryMiB: 300, cpus: 2 });
  assert.deepEqual(vmSize(spec({ memory: { limit: 6 * 1024 * 1024 }, cpu: { cpus: '0-2,5' } }), 256), { memoryMiB: 128, cpus: 4 });

  const host = hostResources(spec({
    memory: { limit: 300 * 1024 * 1024, swap: 600 * 1024 * 1024 },
    cpu: { shares: 512, quota: 150000, period: 100000, cpus: '0-1', realtimeRuntime: 1000 },
    pids: { limit: 20 }, blockIO: { weight: 300 },
    devices: [{ allow: false, access: 'rwm' }],
  }), 300, 192);
  // guest RAM plus the VM's own overhead: a limit of the guest RAM alone would kill qemu
  assert.deepEqual(host.memory, { limit: (300 + 192) * 1024 * 1024 });
  assert.deepEqual(host.cpu, { shares: 512, quota: 150000, period: 100000, cpus: '0-1' });
  assert.deepEqual(host.blockIO, { weight: 300 });
  // per-process limits would count qemu's threads; device rules would deny qemu /dev/kvm and /dev/net/tun
  assert.equal(host.pids, undefined);
  assert.equal(host.devices, undefined);
  assert.deepEqual(hostResources(spec({}), 256, 192), {});
});

test('the guest kernel: BERTH_VM_KERNEL, then the config file, then the newest complete cache; the vmlinux only with PVH', () => {
  withDir((dir) => {
    const cache = join(dir, 'cache');
    for (const v of ['6.1.0-9-cloud-amd64', '6.1.0-10-cloud-amd64', '6.1.0-11-cloud-amd64']) {
      mkdirSync(join(cache, v, 'boot'), { recursive: true });
      writeFileSync(join(cache, v, 'boot', `vmlinuz-${v}`), 'bz');
      writeFileSync(join(cache, v, 'boot', `vmlinux-${v}`), '\x7fELF');
      if (v !== '6.1.0-11-cloud-amd64') writeFileSync(join(cache, v, '.complete'), '');
    }
    const v10 = '6.1.0-10-cloud-amd64';
    assert.equal(cachedKernel(cache)?.kernel, join(cache, v10, 'boot', `vmlinux-${v10}`), 'numeric order, complete only');
    assert.equal(cachedKernel(cache)?.modules, join(cache, v10, 'lib', 'modules', v10));
    writeFileSync(join(cache, v10, 'boot', `config-${v10}`), '# CONFIG_PVH is not set\n');
    assert.equal(cachedKernel(cache)?.kernel, join(cache, v10, 'boot', `vmlinuz-${v10}`), 'no PVH: the bzImage');

    const file = join(dir, 'vm.json');
    const own = join(dir, 'my-kernel');
    writeFileSync(own, 'k');
    writeFileSync(file, JSON.stringify({ kernel: own, machine: 'q35', memoryOverheadMiB: 100 }));
    const env = { BERTH_VM_CONFIG: file, BERTH_VM_CACHE: cache };
    const fromFile = loadVmConfig(env);
    assert.equal(fromFile.kernel, own);
    assert.equal(fromFile.modules, undefined, 'a configured kernel brings no cached modules');
    assert.equal(fromFile.machine, 'q35');
    assert.equal(fromFile.memoryOverheadMiB, 100);
    assert.equal(loadVmConfig({ ...env, BERTH_VM_KERNEL: join(cache, v10, 'boot', `vmlinuz-${v10}`), BERTH_VM_MACHINE: 'auto' }).machine, 'auto');
    writeFileSync(file, '{}');
    assert.equal(loadVmConfig(env).kernel, join(cache, v10, 'boot', `vmlinuz-${v10}`));
    assert.equal(loadVmConfig(env).machine, 'auto');
    assert.throws(() => loadVmConfig({ ...env, BERTH_VM_MACHINE: 'pc' }), /machine must be auto, microvm or q35/);
    assert.throws(() => loadVmConfig({ BERTH_VM_CONFIG: file, BERTH_VM_CACHE: join(dir, 'none') }), /no guest kernel for berth-vm/);
  });
});
