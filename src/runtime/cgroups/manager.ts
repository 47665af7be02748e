/**
 * One interface over the cgroup drivers (v1 — also used for hybrid hosts —
 * and v2). The container code only sees CgroupManager; openCgroup picks the
 * driver from what is mounted, fromPaths reopens it from a state file.
 * Everything is synchronous plain file writes: the planner does them between
 * the executor's CHILD report and CONTINUE, where nothing else is awaited.
 */
import type { Logger } from '../../common/log.js';
import { nullLogger } from '../../common/log.js';
import { invalidArgument } from '../../common/errors.js';
import { detectLayout, SYSTEMD_KEY, UNIFIED_KEY } from './layout.js';
import { cgroupDir, parseCgroupPath } from './path.js';
import type { CgroupStats, LinuxResources } from './types.js';
import { V1Manager } from './v1.js';
import { V2Manager } from './v2.js';

export interface DestroyOptions {
  /** SIGKILL the processes still in the cgroup first (otherwise a busy cgroup is an error) */
  killProcesses?: boolean;
}

export interface CgroupManager {
  readonly version: 1 | 2;
  /** controller → absolute directory; v2: { "": dir }; hybrid adds "name=systemd" and "" */
  readonly paths: Record<string, string>;
  /** creates the directories (idempotent); v1 seeds cpuset, v2 enables controllers */
  create(): void;
  /** writes the limits; also used by `update` with the new values */
  apply(resources: LinuxResources | undefined): void;
  /** moves a process into the cgroup (every hierarchy) */
  addProcess(pid: number): void;
  /** returns once every process is frozen */
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** every process in the cgroup and its descendants */
  pids(): number[];
  stats(): CgroupStats;
  /** removes the cgroups, leaf first */
  destroy(options?: DestroyOptions): void;
  exists(): boolean;
  /** sends signal to every process (frozen meanwhile where possible, so none escapes by forking) */
  killAll(signal: number): void;
}

export interface DriverOptions {
  log: Logger;
}

export interface OpenOptions {
  /** linux.cgroupsPath from the config */
  cgroupsPath: string | undefined;
  /** the container id */
  id: string;
  /** --systemd-cgroup */
  systemd: boolean;
  /** where the hierarchies are mounted; default /sys/fs/cgroup (tests point elsewhere) */
  root?: string;
  /** the process a relative cgroupsPath is relative to (the runtime's caller); default this process */
  callerPid?: number;
  /** /proc, for tests */
  procRoot?: string;
  log?: Logger;
}

export function openCgroup(opts: OpenOptions): CgroupManager {
  const root = opts.root ?? '/sys/fs/cgroup';
  const where = parseCgroupPath({
    cgroupsPath: opts.cgroupsPath, id: opts.id, systemd: opts.systemd, callerPid: opts.callerPid, procRoot: opts.procRoot,
  });
  const layout = detectLayout(root);
  const driver: DriverOptions = { log: opts.log ?? nullLogger };
  if (layout.mode === 'unified') {
    return new V2Manager(cgroupDir(where, UNIFIED_KEY, layout.root), driver, layout.root);
  }
  const paths: Record<string, string> = {};
  for (const [key, mount] of Object.entries(layout.mounts)) paths[key] = cgroupDir(where, key, mount);
  return new V1Manager(paths, driver);
}

/** Reopens a manager from the paths recorded in a container's state file. */
export function fromPaths(paths: Record<string, string>, log: Logger = nullLogger): CgroupManager {
  const keys = Object.keys(paths);
  if (keys.length === 0) throw invalidArgument('cannot reopen cgroup: no paths recorded');
  for (const [k, p] of Object.entries(paths)) {
    if (!p.startsWith('/')) throw invalidArgument(`cannot reopen cgroup: path of ${k || 'cgroup2'} is not absolute: ${p}`);
  }
  if (keys.length === 1 && keys[0] === UNIFIED_KEY) return new V2Manager(paths[UNIFIED_KEY] as string, { log });
  return new V1Manager({ ...paths }, { log });
}

export { SYSTEMD_KEY, UNIFIED_KEY };
