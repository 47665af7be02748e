/** Docker create body → OCI runtime spec, as dockerd generates it. */
export { buildSpec, containerHostname, INIT_PATH, type BuiltSpec, type OciSpec, type SpecInput } from './build.js';
export { ALL_CAPS, DEFAULT_CAPS, capsOfMask, containerCaps, normalizeCap } from './caps.js';
export { mergeEnv, mergeImageConfig, processArgs, processEnv, DEFAULT_PATH, type ImageRuntimeConfig } from './command.js';
export { defaultMounts, userMounts, DEFAULT_SHM_SIZE, type OciMount, type UserMount, type ResolveVolumes, type VolumeAsk, type VolumeSource } from './mounts.js';
export { hostDevices, userDevices, resources, rlimits, DEFAULT_DEVICE_RULES, DEFAULT_NOFILE } from './resources.js';
export { parseSecurityOpt, convertSeccompProfile, defaultProfile, MASKED_PATHS, READONLY_PATHS } from './security.js';
export { hostsFile, resolvConf, hostResolvConf } from './files.js';
export { parsePasswd, parseGroup, resolveUser, type ResolvedUser } from './user.js';
