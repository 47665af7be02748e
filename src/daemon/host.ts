/** Facts about the host that /info and /version report, read as dockerd reads them. */
import { existsSync, readFileSync } from 'node:fs';
import { arch, cpus, hostname, machine, release, totalmem } from 'node:os';

function osRelease(): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
    }
    return out;
  } catch { return {}; }
}

/** Go's name for the architecture (amd64, arm64 …), as Docker's Arch fields use. */
export function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

function readTrimmed(path: string): string | undefined {
  try { return readFileSync(path, 'utf8').trim(); } catch { return undefined; }
}

export interface HostFacts {
  kernelVersion: string;
  operatingSystem: string;
  osVersion: string;
  architecture: string;
  ncpu: number;
  memTotal: number;
  name: string;
  cgroupVersion: '1' | '2';
  ipv4Forwarding: boolean;
  bridgeNfIptables: boolean;
  bridgeNfIp6tables: boolean;
  swapLimit: boolean;
  seccomp: boolean;
}

export function hostFacts(): HostFacts {
  const os = osRelease();
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  return {
    kernelVersion: release(),
    operatingSystem: os.PRETTY_NAME ?? 'Linux',
    osVersion: os.VERSION_ID ?? '',
    architecture: machine(),
    ncpu: cpus().length,
    memTotal: totalmem(),
    name: hostname(),
    cgroupVersion: v2 ? '2' : '1',
    ipv4Forwarding: readTrimmed('/proc/sys/net/ipv4/ip_forward') === '1',
    bridgeNfIptables: readTrimmed('/proc/sys/net/bridge/bridge-nf-call-iptables') === '1',
    bridgeNfIp6tables: readTrimmed('/proc/sys/net/bridge/bridge-nf-call-ip6tables') === '1',
    swapLimit: v2 ? true : existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
    seccomp: (readTrimmed('/proc/self/status') ?? '').includes('Seccomp:'),
  };
}
