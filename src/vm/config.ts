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
   * Use KVM when /dev/kvm opens. Off unless asked for (BERTH_VM_KVM=1 or
   * "kvm": true): on these machines /dev/kvm exists and opens, yet a guest
   * under it never gets past the real-mode setup (nested virtualisation
   * without support), so its presence says nothing.
   */
  kvm: boolean;
}

export const CONFIG_FILE = '/etc/berth/vm.json';
export const CACHE_DIR = '/var/cache/berth/vm';

type FileConfig = Partial<Omit<VmConfig, 'modules'>> & { modules?: string };

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
  // the ELF vmlinux (extracted by the script) boots without in-guest decompression; the bzImage otherwise
  const elf = join(cacheDir, v, 'boot', `vmlinux-${v}`);
  const kernel = existsSync(elf) ? elf : join(cacheDir, v, 'boot', `vmlinuz-${v}`);
  return { kernel, modules: join(cacheDir, v, 'lib', 'modules', v) };
}

/** bin/ of this installation: the bundle runs from dist/, sources from src/vm/. */
function binDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../bin', '../../bin']) {
    const d = join(here, rel);
    if (existsSync(join(d, 'berth-vm-agent'))) return d;
  }
  return join(here, '../bin');
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
    kvm: env.BERTH_VM_KVM ? env.BERTH_VM_KVM !== '0' : file.kvm ?? false,
  };
}
