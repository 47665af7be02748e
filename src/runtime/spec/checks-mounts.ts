/**
 * Rules on `mounts` (config.md "Mounts", "POSIX-platform Mounts").
 */
import type { Checker } from './checker.js';
import type { Mount } from './types.js';
import { checkMappings, type NamespaceSet } from './checks-linux.js';

export function checkMounts(c: Checker, mounts: Mount[] | undefined, ns: NamespaceSet): void {
  mounts?.forEach((m, i) => {
    const at = ['mounts', i];
    if (m.destination === '') c.fail([...at, 'destination'], 'must not be empty');
    if (!m.destination.startsWith('/')) {
      // spec 1.2: deprecated but allowed, relative to "/" (runc warns too)
      c.warn([...at, 'destination'], `relative path "${m.destination}" is deprecated, using "/${m.destination}"`);
      m.destination = `/${m.destination}`;
    }
    checkIdmap(c, at, m, ns);
  });
}

function checkIdmap(c: Checker, at: (string | number)[], m: Mount, ns: NamespaceSet): void {
  if (m.uidMappings !== undefined && m.gidMappings === undefined) c.fail([...at, 'gidMappings'], 'required with uidMappings');
  if (m.gidMappings !== undefined && m.uidMappings === undefined) c.fail([...at, 'uidMappings'], 'required with gidMappings');
  checkMappings(c, [...at, 'uidMappings'], m.uidMappings);
  checkMappings(c, [...at, 'gidMappings'], m.gidMappings);
  const opt = m.options?.find((o) => o === 'idmap' || o === 'ridmap');
  if (opt !== undefined && m.uidMappings === undefined && !ns.has('user')) {
    c.fail([...at, 'options'], `"${opt}" needs uidMappings and gidMappings, or a user namespace`);
  }
}
