/**
 * Which kernel namespace a sysctl belongs to. /proc/sys is only partly
 * namespaced: a container may set a key only when the namespace holding it
 * is the container's own, or it would change the host. The classification
 * is runc's, so configs accepted by one runtime are accepted by the other.
 */

/** System V IPC keys, owned by the IPC namespace (besides fs.mqueue.*). */
const IPC_KEYS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem',
  'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

export type SysctlOwner =
  | 'ipc' // needs a private IPC namespace
  | 'network' // needs a network namespace other than the host's
  | 'uts' // kernel.domainname: needs a private UTS namespace
  | 'hostname' // kernel.hostname: refused, the `hostname` field says it
  | 'host'; // not namespaced: never allowed

/**
 * sysctl(8) accepts "/" as the separator too ("net/ipv4/conf/eth0.100/…");
 * convert such a key to the dotted form (a dot inside a component becomes a
 * slash, as sysctl does).
 */
export function dottedSysctl(key: string): string {
  const first = key.search(/[./]/);
  if (first < 0 || key[first] === '.') return key;
  return key.replace(/[./]/g, (ch) => (ch === '.' ? '/' : '.'));
}

export function sysctlOwner(key: string): SysctlOwner {
  const k = dottedSysctl(key);
  if (IPC_KEYS.has(k) || k.startsWith('fs.mqueue.')) return 'ipc';
  if (k.startsWith('net.')) return 'network';
  if (k === 'kernel.domainname') return 'uts';
  if (k === 'kernel.hostname') return 'hostname';
  return 'host';
}

/** The /proc/sys file of a key: dots separate directories, a slash stands for a dot in a name. */
export function sysctlFile(key: string): string {
  return `/proc/sys/${dottedSysctl(key).replace(/[./]/g, (ch) => (ch === '.' ? '/' : '.'))}`;
}
