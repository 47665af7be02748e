/**
 * The command lines of one VM: virtiofsd sharing the container's rootfs, and
 * qemu's microvm (no firmware tables to walk, no PCI: virtio over MMIO) — or,
 * for a kernel that cannot boot there (machine.ts), a minimal q35 with virtio
 * over PCI — with memfd-backed guest RAM (virtiofs needs memory the daemon
 * can map), a virtio-serial port for the agent, and the kernel's console in
 * a file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Machine } from './machine.js';

export interface VmLayout {
  /** the state directory of the container */
  dir: string;
  kernel: string;
  initramfs: string;
  rootfs: string;
  memoryMiB: number;
  cpus: number;
  kvm: boolean;
  machine: Machine;
  /** TCG's translation buffer in MiB; qemu's default (up to 1 GiB) when absent */
  tcgBufferMiB?: number;
  /** tap device inside the container's netns, with the guest's MAC */
  tap?: { name: string; mac: string };
  /** kernel messages (and the agent's) to console.log: BERTH_VM_DEBUG=1 */
  debug?: boolean;
}

/**
 * Sockets live in a short directory named by a hash of the state directory:
 * engines nest --root deep enough (containerd's …/moby/<64 hex>/) to pass the
 * 108 bytes a unix socket path may have.
 */
export const SOCKET_ROOT = '/run/berth/vm-s';

export const socketDir = (dir: string): string => `${SOCKET_ROOT}/${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`;

export const paths = (dir: string) => ({
  sockets: socketDir(dir),
  agentSocket: `${socketDir(dir)}/agent.sock`,
  controlSocket: `${socketDir(dir)}/control.sock`,
  virtiofsdSocket: `${socketDir(dir)}/fs.sock`,
  console: `${dir}/console.log`,
  log: `${dir}/vm.log`,
  plan: `${dir}/keeper.plan`,
  create: `${dir}/create.msg`,
});

export const ROOTFS_TAG = 'rootfs';

/** The host TSC in kHz: under TCG, microvm's guest stalls calibrating it unless told. */
export function hostTscKhz(cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')): number {
  const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo);
  return m ? Math.round(Number(m[1]) * 1000) : 2_000_000;
}

export function kernelCmdline(tscKhz: number, debug = false, machine: Machine = 'microvm'): string {
  return [
    'console=ttyS0', ...(debug ? ['loglevel=7'] : ['quiet', 'loglevel=4']), 'panic=-1', 'rdinit=/init',
    `tsc_early_khz=${tscKhz}`, 'tsc=reliable', 'no_timer_check', 'noreplace-smp',
    // microvm has no PCI bus to probe; on q35 the virtio devices are on it
    'reboot=t', ...(machine === 'microvm' ? ['pci=off'] : []), 'i8042.noaux', 'i8042.nokbd', 'cryptomgr.notests', 'random.trust_cpu=on',
  ].join(' ');
}

/** -M of each machine: microvm without firmware option ROMs; q35 without the PC's SATA, SMBus, vmport and HPET. */
const MACHINE_ARG: Record<Machine, string> = {
  microvm: 'microvm,memory-backend=mem,x-option-roms=off,isa-serial=on,rtc=on',
  q35: 'q35,memory-backend=mem,sata=off,smbus=off,vmport=off,hpet=off',
};

/** virtio device names: -device suffix per transport */
const dev = (machine: Machine, kind: string): string => `${kind}-${machine === 'microvm' ? 'device' : 'pci'}`;

export function virtiofsdArgs(virtiofsd: string, l: VmLayout): string[] {
  return [
    virtiofsd, `--socket-path=${paths(l.dir).virtiofsdSocket}`,
    '-o', `source=${l.rootfs}`, '-o', 'cache=auto', '-o', 'xattr', '-o', 'sandbox=chroot',
    '--thread-pool-size=1',
  ];
}

export function qemuArgs(qemu: string, l: VmLayout, tscKhz: number): string[] {
  const p = paths(l.dir);
  const mem = `${l.memoryMiB}M`;
  const tcg = l.tcgBufferMiB ? `tcg,tb-size=${l.tcgBufferMiB}` : 'tcg';
  const args = [
    qemu,
    '-M', MACHINE_ARG[l.machine],
    '-accel', l.kvm ? 'kvm' : tcg,
    '-cpu', l.kvm ? 'host' : 'max',
    '-smp', String(l.cpus),
    '-m', mem,
    '-object', `memory-backend-memfd,id=mem,size=${mem},share=on`,
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    ...(l.machine === 'microvm' ? ['-global', 'virtio-mmio.force-legacy=false'] : []),
    '-serial', `file:${p.console}`,
    '-kernel', l.kernel, '-initrd', l.initramfs, '-append', kernelCmdline(tscKhz, l.debug, l.machine),
    '-chardev', `socket,id=fs,path=${p.virtiofsdSocket}`,
    '-device', `${dev(l.machine, 'vhost-user-fs')},chardev=fs,tag=${ROOTFS_TAG}`,
    '-device', `${dev(l.machine, 'virtio-serial')},max_ports=2`,
    '-chardev', `socket,id=agent,path=${p.agentSocket}`,
    '-device', 'virtserialport,chardev=agent,name=berth.agent',
  ];
  if (l.tap) {
    args.push(
      '-netdev', `tap,id=net0,ifname=${l.tap.name},script=no,downscript=no`,
      '-device', `${dev(l.machine, 'virtio-net')},netdev=net0,mac=${l.tap.mac}`,
    );
  }
  return args;
}
