/**
 * Which qemu machine a guest kernel gets. `microvm` (no firmware, no PCI,
 * virtio over MMIO) is the fast one, but only a kernel built for it boots
 * there: it must drive virtio-mmio and find the devices (described in
 * microvm's ACPI tables, or on the command line), and an ELF vmlinux needs
 * the PVH entry. Any other x86 kernel boots on a minimal `q35` (SeaBIOS,
 * virtio over PCI, no SATA/SMBus/vmport). The kernel's build config, which
 * Debian ships beside it (config-<version>), tells which; a kernel without
 * one is taken to be microvm-ready (configure `machine: "q35"` otherwise).
 */
import { existsSync, openSync, readSync, closeSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export type Machine = 'microvm' | 'q35';
export type MachineSetting = Machine | 'auto';

/** the virtio transport module of each machine: the rest of the guest's modules are the same */
export const TRANSPORT_MODULE: Record<Machine, string> = { microvm: 'virtio_mmio', q35: 'virtio_pci' };

/** config-<version> next to vmlinuz-<version> / vmlinux-<version>, when there is one. */
export function kernelConfigPath(kernel: string): string | undefined {
  const m = /^vmlinu[xz]-(.+)$/.exec(basename(kernel));
  if (!m) return undefined;
  const p = join(dirname(kernel), `config-${m[1]}`);
  return existsSync(p) ? p : undefined;
}

/** CONFIG_X=y|m lines as a map; "is not set" lines are absent. */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

export function isElf(kernel: string): boolean {
  const b = Buffer.alloc(4);
  let fd = -1;
  try {
    fd = openSync(kernel, 'r');
    return readSync(fd, b, 0, 4, 0) === 4 && b.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

const on = (c: Map<string, string>, k: string): boolean => c.get(k) === 'y' || c.get(k) === 'm';

/** Why a kernel with this config cannot boot on microvm; undefined when it can. */
export function microvmObstacle(config: Map<string, string>, elf: boolean): string | undefined {
  if (!on(config, 'CONFIG_VIRTIO_MMIO')) return 'no virtio-mmio driver (CONFIG_VIRTIO_MMIO)';
  // microvm lists its virtio-mmio devices in ACPI tables, or, with acpi=off, on the kernel command line
  if (config.get('CONFIG_ACPI') !== 'y' && config.get('CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES') !== 'y') {
    return 'neither ACPI nor CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES to find the virtio-mmio devices';
  }
  if (elf && config.get('CONFIG_PVH') !== 'y') return 'an ELF vmlinux without the PVH entry (CONFIG_PVH)';
  return undefined;
}

/** The machine for a kernel: the setting when it names one, else microvm unless the kernel's config rules it out. */
export function chooseMachine(setting: MachineSetting, kernel: string, configText?: string): { machine: Machine; reason: string } {
  if (setting !== 'auto') return { machine: setting, reason: 'configured' };
  let text = configText;
  if (text === undefined) {
    const p = kernelConfigPath(kernel);
    if (!p) return { machine: 'microvm', reason: 'no kernel config beside the kernel: assumed microvm-ready' };
    text = readFileSync(p, 'utf8');
  }
  const obstacle = microvmObstacle(parseKernelConfig(text), isElf(kernel));
  return obstacle ? { machine: 'q35', reason: `the kernel cannot boot on microvm: ${obstacle}` } : { machine: 'microvm', reason: 'the kernel boots on microvm' };
}

export function parseMachineSetting(v: string | undefined): MachineSetting | undefined {
  if (v === undefined) return undefined;
  if (v === 'auto' || v === 'microvm' || v === 'q35') return v;
  throw new RangeError(`machine must be auto, microvm or q35, not ${v}`);
}
