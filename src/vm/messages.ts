/**
 * What the guest agent is told: the Create and Exec payloads, built from the
 * OCI config. Only what means something inside a VM crosses: bind mounts of
 * host paths do not (the rootfs is the only shared file system), cgroup and
 * seccomp settings stay with the host, where the VM is the boundary.
 */
import type { Process, Spec } from '../runtime/spec/types.js';
import { FIELD_SEP, type Pairs } from './protocol.js';
import { ROOTFS_TAG } from './qemu.js';

/** mount types the agent performs in the guest */
export const GUEST_MOUNT_TYPES = new Set(['proc', 'sysfs', 'tmpfs', 'devpts', 'mqueue']);

export function processPairs(p: Process): Pairs {
  const out: Pairs = [];
  for (const a of p.args ?? []) out.push(['arg', a]);
  for (const e of p.env ?? []) out.push(['env', e]);
  out.push(['cwd', p.cwd || '/'], ['uid', String(p.user?.uid ?? 0)], ['gid', String(p.user?.gid ?? 0)]);
  for (const g of p.user?.additionalGids ?? []) out.push(['gid+', String(g)]);
  if (p.terminal) {
    out.push(['tty', '1']);
    if (p.consoleSize) out.push(['rows', String(p.consoleSize.height)], ['cols', String(p.consoleSize.width)]);
  }
  return out;
}

export function createPairs(spec: Spec): Pairs {
  if (!spec.process) throw new TypeError('config has no process');
  const out: Pairs = processPairs(spec.process);
  out.push(['rootfs_tag', ROOTFS_TAG]);
  if (spec.root?.readonly) out.push(['readonly', '1']);
  if (spec.hostname) out.push(['hostname', spec.hostname]);
  for (const m of spec.mounts ?? []) {
    const type = m.type ?? '';
    if (!GUEST_MOUNT_TYPES.has(type)) continue;
    out.push(['mount', [type, m.source ?? type, m.destination, (m.options ?? []).join(',')].join(FIELD_SEP)]);
  }
  for (const [k, v] of Object.entries(spec.linux?.sysctl ?? {})) out.push(['sysctl', `${k}=${v}`]);
  return out;
}
