/**
 * The runtime-spec "features" document (features.md, features-linux.md):
 * what Berth recognizes, decided when it is built, not what this host has.
 */
import { CAPABILITY_NAMES } from './capabilities.js';
import { MOUNT_OPTIONS } from './mount-options.js';
import { NAMESPACE_TYPES } from './namespaces.js';
import { SECCOMP_ACTION_NAMES, SECCOMP_ARCH_NAMES, SECCOMP_FLAG_NAMES, SECCOMP_OPERATORS, SECCOMP_SUPPORTED_FLAGS } from './seccomp-names.js';

export const OCI_VERSION_MIN = '1.0.0';
export const OCI_VERSION_MAX = '1.2.0';

export const HOOK_NAMES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma: boolean };
    seccomp: {
      enabled: boolean;
      actions: string[];
      operators: string[];
      archs: string[];
      knownFlags: string[];
      supportedFlags: string[];
    };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    intelRdt: { enabled: boolean };
    mountExtensions: { idmap: { enabled: boolean } };
  };
  annotations: Record<string, string>;
}

export function features(program = 'berth-runtime'): Features {
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION_MAX,
    hooks: [...HOOK_NAMES],
    mountOptions: [...MOUNT_OPTIONS],
    linux: {
      namespaces: [...NAMESPACE_TYPES].sort(),
      capabilities: [...CAPABILITY_NAMES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTION_NAMES],
        operators: [...SECCOMP_OPERATORS],
        archs: [...SECCOMP_ARCH_NAMES],
        knownFlags: [...SECCOMP_FLAG_NAMES],
        supportedFlags: [...SECCOMP_SUPPORTED_FLAGS],
      },
      // labels are applied where the host has the LSM, otherwise warned about
      apparmor: { enabled: true },
      selinux: { enabled: true },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
    },
    annotations: { 'org.berth.runtime.name': program },
  };
}
