/**
 * The config `berth-runtime spec` writes: a busybox-friendly starting point,
 * the same as `runc spec` (runc 1.1/1.2) except where noted:
 *   - ociVersion is the version Berth implements (OCI_VERSION);
 *   - hostname is "berth" instead of "runc";
 *   - the cgroup namespace is always asked for (runc adds it only on a
 *     cgroup v2 host; Berth gives containers a private cgroup view on v1 too);
 *   - no ambient capabilities, as runc 1.2 (1.1 also filled the ambient set,
 *     which hands the capabilities to non-root users of the container).
 * `--rootless` makes the changes runc makes: a user namespace mapping the
 * caller's uid/gid to root, no network namespace, /sys bound from the host
 * (sysfs cannot be mounted without owning the network namespace), no uid=/gid=
 * mount options and no cgroup resources.
 */

/*
 * The template's own shape: the part of the OCI config it fills, typed here
 * so every layer (the runtime's `spec`, berth-ctr, the daemon) can build a
 * default config without importing the runtime's full spec types; the
 * runtime's Spec accepts it as it is.
 */
export interface TemplateMount { destination: string; type?: string; source?: string; options?: string[] }
export interface TemplateIdMapping { containerID: number; hostID: number; size: number }
export type TemplateNamespace = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface TemplateSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: TemplateMount[];
  linux: {
    uidMappings?: TemplateIdMapping[];
    gidMappings?: TemplateIdMapping[];
    resources?: { devices: { allow: boolean; access: string }[] };
    namespaces: { type: TemplateNamespace }[];
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

/** The runtime-spec version Berth writes and implements. */
export const OCI_VERSION = '1.2.0';

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export const DEFAULT_MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
];

export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface TemplateOptions {
  rootless?: boolean;
  /** the caller's effective uid and gid, mapped to root with --rootless */
  uid?: number;
  gid?: number;
}

function defaultMounts(): TemplateMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts', type: 'devpts', source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

/** A fresh default config (property order as runc writes it). */
export function specTemplate(options: TemplateOptions = {}): TemplateSpec {
  const spec: TemplateSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'berth',
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type: type as TemplateNamespace })),
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
  return options.rootless ? toRootless(spec, options.uid ?? 0, options.gid ?? 0) : spec;
}

function toRootless(spec: TemplateSpec, uid: number, gid: number): TemplateSpec {
  const linux = spec.linux;
  const namespaces = linux.namespaces.filter((n) => n.type !== 'network' && n.type !== 'user');
  namespaces.push({ type: 'user' });
  const mounts = spec.mounts.map((m): TemplateMount => {
    if (m.destination === '/sys') {
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    }
    const options = m.options?.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
    return options === undefined ? m : { ...m, options };
  });
  // rebuilt so the mappings come first, as runc writes them
  const { resources: _dropped, namespaces: _old, ...rest } = linux;
  return {
    ...spec,
    mounts,
    linux: {
      uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
      namespaces,
      ...rest,
    },
  };
}
