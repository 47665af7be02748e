/**
 * Rules relating `linux` fields to each other and to the rest of the config
 * (config-linux.md, and the checks runc makes before it creates anything).
 */
import type { Checker } from './checker.js';
import type { IdMapping, Linux, Namespace, NamespaceTypeName, Spec } from './types.js';
import { sysctlOwner } from './sysctl.js';

/** The namespaces a config asks for: type → the entry (new when no path). */
export type NamespaceSet = ReadonlyMap<NamespaceTypeName, Namespace>;

export function checkNamespaces(c: Checker, linux: Linux | undefined): NamespaceSet {
  const set = new Map<NamespaceTypeName, Namespace>();
  linux?.namespaces?.forEach((ns, i) => {
    if (set.has(ns.type)) c.fail(['linux', 'namespaces', i, 'type'], `duplicate namespace type "${ns.type}"`);
    set.set(ns.type, ns);
    if (ns.path !== undefined) {
      if (ns.path === '') c.fail(['linux', 'namespaces', i, 'path'], 'must not be empty (omit it to create a namespace)');
      c.absolute(['linux', 'namespaces', i, 'path'], ns.path);
    }
  });
  return set;
}

const isNew = (set: NamespaceSet, type: NamespaceTypeName): boolean => set.has(type) && set.get(type)?.path === undefined;

export function checkUserNamespace(c: Checker, linux: Linux | undefined, ns: NamespaceSet): void {
  const uid = linux?.uidMappings;
  const gid = linux?.gidMappings;
  if (!ns.has('user')) {
    if (uid !== undefined) c.fail(['linux', 'uidMappings'], 'given, but linux.namespaces has no user namespace');
    if (gid !== undefined) c.fail(['linux', 'gidMappings'], 'given, but linux.namespaces has no user namespace');
    return;
  }
  if (isNew(ns, 'user')) {
    if (!uid || uid.length === 0) c.fail(['linux', 'uidMappings'], 'required with a new user namespace');
    if (!gid || gid.length === 0) c.fail(['linux', 'gidMappings'], 'required with a new user namespace');
  }
  checkMappings(c, ['linux', 'uidMappings'], uid);
  checkMappings(c, ['linux', 'gidMappings'], gid);
}

export function checkMappings(c: Checker, at: (string | number)[], maps: IdMapping[] | undefined): void {
  maps?.forEach((m, i) => {
    if (m.size === 0) c.fail([...at, i, 'size'], 'must be greater than zero');
    if (m.containerID + m.size > 2 ** 32 || m.hostID + m.size > 2 ** 32) c.fail([...at, i], 'runs past the last 32-bit id');
  });
}

const CLOCKS = new Set(['monotonic', 'boottime']);

export function checkTimeNamespace(c: Checker, linux: Linux | undefined, ns: NamespaceSet): void {
  const offsets = linux?.timeOffsets;
  if (offsets === undefined) return;
  if (!ns.has('time')) c.fail(['linux', 'timeOffsets'], 'given, but linux.namespaces has no time namespace');
  if (!isNew(ns, 'time')) c.fail(['linux', 'timeOffsets'], 'cannot be combined with joining a time namespace by path');
  for (const [clock, o] of Object.entries(offsets)) {
    if (!CLOCKS.has(clock)) c.fail(['linux', 'timeOffsets', clock], `unknown clock "${clock}" (monotonic or boottime)`);
    if (o.nanosecs !== undefined && o.nanosecs >= 1e9) c.fail(['linux', 'timeOffsets', clock, 'nanosecs'], 'must be below 1000000000');
  }
}

export function checkUts(c: Checker, spec: Spec, ns: NamespaceSet): void {
  for (const field of ['hostname', 'domainname'] as const) {
    if (spec[field] && !ns.has('uts')) c.fail([field], 'cannot be set without a private UTS namespace');
  }
}

export function checkPaths(c: Checker, linux: Linux | undefined, ns: NamespaceSet): void {
  for (const field of ['maskedPaths', 'readonlyPaths'] as const) {
    const paths = linux?.[field];
    if (!paths || paths.length === 0) continue;
    if (!ns.has('mount')) c.fail(['linux', field], 'cannot be applied without a private mount namespace');
    paths.forEach((p, i) => c.absolute(['linux', field, i], p));
  }
}

export function checkSysctl(c: Checker, spec: Spec, ns: NamespaceSet): void {
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) {
    const at = ['linux', 'sysctl', key];
    switch (sysctlOwner(key)) {
      case 'ipc':
        if (!ns.has('ipc')) c.fail(at, 'cannot be set without a private IPC namespace');
        break;
      case 'network':
        // a network namespace joined by path could still be the host's: the
        // planner, which may look at the kernel, checks that case
        if (!ns.has('network')) c.fail(at, 'cannot be set in the host network namespace');
        break;
      case 'uts':
        if (!ns.has('uts')) c.fail(at, 'cannot be set without a private UTS namespace');
        break;
      case 'hostname':
        c.fail(at, 'is not allowed: use the hostname field');
        break;
      case 'host':
        c.fail(at, 'is not in a namespace of the container: setting it would change the host');
    }
  }
}

export function checkDevices(c: Checker, linux: Linux | undefined): void {
  linux?.devices?.forEach((d, i) => {
    c.absolute(['linux', 'devices', i, 'path'], d.path);
    if (d.type === 'p') return;
    if (d.major === undefined) c.fail(['linux', 'devices', i, 'major'], `is required for a "${d.type}" device`);
    if (d.minor === undefined) c.fail(['linux', 'devices', i, 'minor'], `is required for a "${d.type}" device`);
  });
}

export function checkResources(c: Checker, linux: Linux | undefined): void {
  const r = linux?.resources;
  r?.blockIO?.weightDevice?.forEach((w, i) => {
    if (w.weight === undefined && w.leafWeight === undefined) {
      c.fail(['linux', 'resources', 'blockIO', 'weightDevice', i], 'needs weight or leafWeight');
    }
  });
  for (const [dev, l] of Object.entries(r?.rdma ?? {})) {
    if (l.hcaHandles === undefined && l.hcaObjects === undefined) {
      c.fail(['linux', 'resources', 'rdma', dev], 'needs hcaHandles or hcaObjects');
    }
  }
}

export function checkMisc(c: Checker, linux: Linux | undefined): void {
  const clos = linux?.intelRdt?.closID;
  if (clos !== undefined && (clos === '.' || clos === '..' || clos.includes('/'))) {
    c.fail(['linux', 'intelRdt', 'closID'], `${JSON.stringify(clos)} is not a valid directory name`);
  }
  if (linux?.personality?.flags && linux.personality.flags.length > 0) {
    c.fail(['linux', 'personality', 'flags'], 'no personality flags are supported');
  }
}
