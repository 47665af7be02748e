/**
 * Where berth-vm finds its pieces: the guest kernel (BERTH_VM_KERNEL, the
 * `kernel` of /etc/berth/vm.json, or the newest kernel that
 * scripts/vm-kernel.sh unpacked under /var/cache/berth/vm), qemu, virtiofsd
 * and the static guest agent; and the defaults of a VM.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { failedPrecondition, invalidArgument } from '../common/errors.js';
import type { KvmSetting } from './kvm.js';
import { parseKernelConfig, parseMachineSetting, type MachineSetting } from './machine.js';

export interface VmConfig {
  /** the guest kernel image (bzImage/vmlinuz) */
  kernel: string;
  /** modules tree of that kernel (…/lib/modules/<version>), or undefined when the kernel needs none */
  modules: string | undefined;
  qemu: string;
  virtiofsd: string;
  /** the static guest agent, /init of the initramfs */
  agent: string;
  /** the host side's relay and VM keeper */
  keeper: string;
  /** where built initramfs images are cached */
  cacheDir: string;
  memoryMiB: number;
  bootTimeoutMs: number;
  /**
   * KVM when /dev/kvm opens and, with "auto" (the default), a guest boots
   * under it (kvm.ts: probed once per host boot). true or false
   * (BERTH_VM_KVM=1/0) skip the probe.
   */
  kvm: KvmSetting;
  /** how long the KVM probe's guest may take to reach its kernel */
  kvmProbeTimeoutMs: number;
  /** microvm, q35, or auto: microvm where the kernel boots on it (machine.ts) */
  machine: MachineSetting;
  /**
   * What qemu, virtiofsd and the keeper may use beyond the guest's RAM, in
   * the host cgroup's memory limit of a container that has one: qemu itself
   * (about 60 MiB), TCG's translation buffer (bounded to tcgBufferMiB then),
   * virtiofsd and the keeper (about 8 MiB).
   */
  memoryOverheadMiB: number;
  /** TCG's translation buffer of a memory-limited VM (qemu's default grows toward 1 GiB) */
  tcgBufferMiB: number;
}

export const CONFIG_FILE = '/etc/berth/vm.json';
export const CACHE_DIR = '/var/cache/berth/vm';

type FileConfig = Partial<Omit<VmConfig, 'modules' | 'machine'>> & { modules?: string; machine?: string };

function readFileConfig(path: string): FileConfig {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as FileConfig;
  } catch (err) {
    throw invalidArgument(`cannot read berth-vm config ${path}: ${(err as Error).message}`);
  }
}

/** The newest kernel unpacked by scripts/vm-kernel.sh: <cache>/<version>/boot/vmlinux-<version> or vmlinuz-<version>. */
export function cachedKernel(cacheDir: string): { kernel: string; modules: string } | undefined {
  let versions: string[];
  try { versions = readdirSync(cacheDir); } catch { return undefined; }
  const complete = versions
    .filter((v) => existsSync(join(cacheDir, v, '.complete')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const v = complete.at(-1);
  if (!v) return undefined;
  // the ELF vmlinux (extracted by the script) boots without in-guest decompression, if it has
  // the PVH entry (qemu loads an ELF kernel only through it); the bzImage otherwise
  const elf = join(cacheDir, v, 'boot', `vmlinux-${v}`);
  const kernel = existsSync(elf) && hasPvh(join(cacheDir, v, 'boot', `config-${v}`)) ? elf : join(cacheDir, v, 'boot', `vmlinuz-${v}`);
  return { kernel, modules: join(cacheDir, v, 'lib', 'modules', v) };
}

/** CONFIG_PVH=y in the kernel's config; a kernel without a config is given the benefit of the doubt. */
function hasPvh(configPath: string): boolean {
  if (!existsSync(configPath)) return true;
  return parseKernelConfig(readFileSync(configPath, 'utf8')).get('CONFIG_PVH') === 'y';
}

const positive = (name: string, v: unknown, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw invalidArgument(`berth-vm config ${name} must be a positive number, not ${String(v)}`);
  return n;
};

/** bin/ of this installation: the bundle runs from dist/, sources from src/vm/. */
function binDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../bin', '../../bin']) {
    const d = join(here, rel);
    if (existsSync(join(d, 'berth-vm-agent'))) return d;
  }
  return join(here, '../bin');
}

function kvmSetting(v: unknown): KvmSetting {
  if (v === undefined || v === 'auto' || v === '') return 'auto';
  if (v === true || v === '1' || v === 'true') return true;
  if (v === false || v === '0' || v === 'false') return false;
  throw invalidArgument(`berth-vm config: kvm must be true, false or auto, not ${String(v)}`);
}

function machineSetting(v: string | undefined): MachineSetting {
  try { return parseMachineSetting(v) ?? 'auto'; } catch (err) { throw invalidArgument(`berth-vm config: ${(err as Error).message}`); }
}

export function loadVmConfig(env: Record<string, string | undefined> = process.env): VmConfig {
  const file = readFileConfig(env.BERTH_VM_CONFIG ?? CONFIG_FILE);
  const cacheDir = env.BERTH_VM_CACHE ?? file.cacheDir ?? CACHE_DIR;
  const cached = cachedKernel(cacheDir);
  const kernel = env.BERTH_VM_KERNEL ?? file.kernel ?? cached?.kernel;
  if (!kernel || !existsSync(kernel)) {
    throw failedPrecondition(`no guest kernel for berth-vm${kernel ? ` at ${kernel}` : ''}: run scripts/vm-kernel.sh or set BERTH_VM_KERNEL`);
  }
  const modules = env.BERTH_VM_MODULES ?? file.modules ?? (kernel === cached?.kernel ? cached.modules : undefined);
  const bin = binDir();
  return {
    kernel,
    modules,
    qemu: env.BERTH_VM_QEMU ?? file.qemu ?? '/usr/bin/qemu-system-x86_64',
    virtiofsd: env.BERTH_VM_VIRTIOFSD ?? file.virtiofsd ?? '/usr/lib/qemu/virtiofsd',
    agent: env.BERTH_VM_AGENT ?? file.agent ?? join(bin, 'berth-vm-agent'),
    keeper: env.BERTH_VM_KEEPER ?? file.keeper ?? join(bin, 'berth-vm-keeper'),
    cacheDir,
    memoryMiB: file.memoryMiB ?? 256,
    bootTimeoutMs: Number(env.BERTH_VM_BOOT_TIMEOUT_MS ?? file.bootTimeoutMs ?? 60000),
    kvm: kvmSetting(env.BERTH_VM_KVM ?? file.kvm),
    kvmProbeTimeoutMs: positive('kvmProbeTimeoutMs', env.BERTH_VM_KVM_PROBE_TIMEOUT_MS ?? file.kvmProbeTimeoutMs, 8000),
    machine: machineSetting(env.BERTH_VM_MACHINE ?? file.machine),
    memoryOverheadMiB: positive('memoryOverheadMiB', file.memoryOverheadMiB, 192),
    tcgBufferMiB: positive('tcgBufferMiB', file.tcgBufferMiB, 64),
  };
}
