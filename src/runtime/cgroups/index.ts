/**
 * Berth's cgroups: one CgroupManager over the v1 (and hybrid) and v2
 * drivers. The runtime imports from here only.
 */
export { openCgroup, fromPaths, SYSTEMD_KEY, UNIFIED_KEY } from './manager.js';
export type { CgroupManager, DestroyOptions, OpenOptions } from './manager.js';
export type { CgroupStats, LinuxResources, LinuxDeviceCgroup } from './types.js';
export { toRuncStatsJson } from './stats-json.js';
export { compileDeviceFilter, encodeInsns } from './devices-bpf.js';
