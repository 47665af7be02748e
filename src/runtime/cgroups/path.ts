/**
 * Where a container's cgroup goes, from linux.cgroupsPath (runtime-spec
 * config-linux.md "Cgroups path"):
 *  - absolute ("/docker/abc"): relative to each hierarchy's root (its mount
 *    point), never to the runtime's own cgroup;
 *  - relative ("pods/abc"): relative to the cgroup of the process that
 *    asked for the container, per hierarchy. The planner is a daemon, so the
 *    caller's pid is passed in and /proc/<pid>/cgroup read;
 *  - unset: "/<id>", as runc does. A shared parent would outlive its last
 *    container (removing it races with the next create), and engines
 *    (dockerd, containerd) always pass a path anyway.
 * The systemd driver's "slice:prefix:name" form is refused until that driver
 * exists. A path must not leave its hierarchy, nor name the root itself.
 */
import { readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { BerthError, invalidArgument, wrap } from '../../common/errors.js';

export interface PathRequest {
  cgroupsPath: string | undefined;
  id: string;
  systemd: boolean;
  /** whose cgroup a relative path is relative to; default: this process */
  callerPid?: number;
  /** /proc, overridable for tests */
  procRoot?: string;
}

export type CgroupPath =
  | { kind: 'absolute'; path: string }
  | { kind: 'relative'; path: string; callerCgroups: Record<string, string> };

const systemdForm = /^[^/:]*:[^/:]*:[^/:]*$/;

export function parseCgroupPath(req: PathRequest): CgroupPath {
  const p = req.cgroupsPath;
  if (req.systemd || (p !== undefined && systemdForm.test(p))) {
    throw new BerthError('invalid-argument', `systemd cgroup driver is not supported yet: cannot use cgroups path ${JSON.stringify(p ?? '')} for container ${req.id}`);
  }
  if (p === undefined || p === '') {
    if (req.id === '' || req.id.includes('/') || req.id === '.' || req.id === '..') {
      throw invalidArgument(`invalid container id ${JSON.stringify(req.id)} for a cgroup name`);
    }
    return { kind: 'absolute', path: `/${req.id}` };
  }
  if (p.includes('\0')) throw invalidArgument(`invalid cgroups path ${JSON.stringify(p)}: contains a NUL byte`);
  if (p.startsWith('/')) return { kind: 'absolute', path: posix.normalize(p) };
  return { kind: 'relative', path: p, callerCgroups: readProcCgroup(req.callerPid ?? process.pid, req.procRoot ?? '/proc') };
}

/**
 * /proc/<pid>/cgroup as hierarchy key → path: each v1 controller of a line
 * ("4:memory:/a", "2:cpu,cpuacct:/b" gives both), "name=systemd", and ""
 * for the cgroup2 line ("0::/c").
 */
export function readProcCgroup(pid: number, procRoot = '/proc'): Record<string, string> {
  const file = `${procRoot}/${pid}/cgroup`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw wrap(`cannot read the cgroups of process ${pid}`, err);
  }
  return parseProcCgroup(text);
}

export function parseProcCgroup(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const ctrls = m[1] as string;
    const path = m[2] as string;
    if (ctrls === '') out[''] = path;
    else for (const c of ctrls.split(',')) out[c] = path;
  }
  return out;
}

/**
 * The absolute directory of the container's cgroup in one hierarchy.
 * key: the hierarchy's key in /proc/<pid>/cgroup terms; mount: where it is mounted.
 */
export function cgroupDir(p: CgroupPath, key: string, mount: string): string {
  let inner: string;
  if (p.kind === 'absolute') {
    inner = p.path;
  } else {
    const base = p.callerCgroups[key];
    if (base === undefined) {
      throw new BerthError('unavailable', `cannot place relative cgroups path ${JSON.stringify(p.path)}: the caller is in no ${key === '' ? 'cgroup2' : key} cgroup`);
    }
    // Joined as relative paths so a ".." climbing above the hierarchy root
    // shows (an absolute join would silently stop at "/").
    const joined = posix.join(`.${base}`, p.path);
    if (joined === '..' || joined.startsWith('../')) {
      throw invalidArgument(`invalid cgroups path ${JSON.stringify(p.path)}: it resolves to outside the hierarchy ${mount}`);
    }
    inner = `/${joined}`;
  }
  const dir = join(mount, inner);
  const rel = relative(mount, dir);
  if (rel === '' || rel === '..' || rel.startsWith('../')) {
    throw invalidArgument(`invalid cgroups path ${JSON.stringify(p.path)}: it resolves to ${rel === '' ? 'the root of' : 'outside'} the hierarchy ${mount}`);
  }
  return dir;
}
