/**
 * Create bodies of the Engine API and their fields, as Docker documents
 * them: a valid base body per route, and the field paths the fuzzer gives
 * wrong values to.
 */
import type { Rng } from './rng.js';
import { wrongValue } from './values.js';

export interface BodyShape {
  method: string;
  /** path as in the route table */
  path: string;
  base: () => Record<string, unknown>;
  /** dotted paths into the body */
  fields: readonly string[];
}

const CONFIG = [
  'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty', 'OpenStdin', 'StdinOnce',
  'Env', 'Cmd', 'Healthcheck', 'Healthcheck.Test', 'Healthcheck.Interval', 'Healthcheck.Retries', 'ArgsEscaped', 'Image', 'Volumes',
  'WorkingDir', 'Entrypoint', 'NetworkDisabled', 'MacAddress', 'OnBuild', 'Labels', 'StopSignal', 'StopTimeout', 'Shell',
];

const HOST = [
  'Binds', 'ContainerIDFile', 'LogConfig', 'LogConfig.Type', 'LogConfig.Config', 'NetworkMode', 'PortBindings', 'RestartPolicy',
  'RestartPolicy.Name', 'RestartPolicy.MaximumRetryCount', 'AutoRemove', 'VolumeDriver', 'VolumesFrom', 'Mounts', 'CapAdd', 'CapDrop',
  'CgroupnsMode', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'GroupAdd', 'IpcMode', 'Cgroup', 'Links', 'OomScoreAdj', 'PidMode',
  'Privileged', 'PublishAllPorts', 'ReadonlyRootfs', 'SecurityOpt', 'StorageOpt', 'Tmpfs', 'UTSMode', 'UsernsMode', 'ShmSize', 'Sysctls',
  'Runtime', 'Isolation', 'CpuShares', 'Memory', 'NanoCpus', 'CgroupParent', 'BlkioWeight', 'BlkioWeightDevice', 'BlkioDeviceReadBps',
  'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'Devices', 'DeviceCgroupRules',
  'DeviceRequests', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'OomKillDisable', 'Init', 'PidsLimit', 'Ulimits',
  'MaskedPaths', 'ReadonlyPaths', 'ConsoleSize', 'Annotations',
].map((f) => `HostConfig.${f}`);

const UPDATE = [
  'CpuShares', 'Memory', 'NanoCpus', 'CgroupParent', 'BlkioWeight', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'MemoryReservation',
  'MemorySwap', 'PidsLimit', 'RestartPolicy', 'RestartPolicy.Name', 'RestartPolicy.MaximumRetryCount', 'Ulimits', 'Devices',
];

export const BODIES: readonly BodyShape[] = [
  {
    method: 'POST', path: '/containers/create',
    base: () => ({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'json-file', Config: {} }, RestartPolicy: { Name: 'no' } }, Healthcheck: { Test: ['NONE'] } }),
    fields: [...CONFIG, ...HOST, 'NetworkingConfig', 'NetworkingConfig.EndpointsConfig'],
  },
  { method: 'POST', path: '/containers/{id}/update', base: () => ({ Memory: 0, RestartPolicy: { Name: 'no' } }), fields: UPDATE },
  { method: 'POST', path: '/volumes/create', base: () => ({ Name: 'fuzzvol', Driver: 'local', DriverOpts: {}, Labels: {} }), fields: ['Name', 'Driver', 'DriverOpts', 'Labels'] },
  {
    method: 'POST', path: '/networks/create',
    base: () => ({ Name: 'fuzznet', Driver: 'bridge', Internal: true, IPAM: { Driver: 'default', Config: [] }, Options: {}, Labels: {} }),
    fields: ['Name', 'Driver', 'Internal', 'Attachable', 'EnableIPv6', 'IPAM', 'IPAM.Driver', 'IPAM.Config', 'IPAM.Options', 'Options', 'Labels', 'CheckDuplicate', 'Scope'],
  },
  { method: 'POST', path: '/networks/{id}/connect', base: () => ({ Container: 'fuzz', EndpointConfig: {} }), fields: ['Container', 'EndpointConfig', 'EndpointConfig.Aliases', 'EndpointConfig.IPAMConfig'] },
  { method: 'POST', path: '/networks/{id}/disconnect', base: () => ({ Container: 'fuzz', Force: false }), fields: ['Container', 'Force'] },
  {
    method: 'POST', path: '/containers/{id}/exec',
    base: () => ({ Cmd: ['true'], AttachStdout: true, AttachStderr: true }),
    fields: ['Cmd', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'Env', 'User', 'Privileged', 'WorkingDir', 'DetachKeys', 'ConsoleSize'],
  },
  { method: 'POST', path: '/exec/{id}/start', base: () => ({ Detach: true, Tty: false }), fields: ['Detach', 'Tty', 'ConsoleSize'] },
  { method: 'POST', path: '/auth', base: () => ({ username: 'u', password: 'p', serveraddress: '127.0.0.1:1' }), fields: ['username', 'password', 'serveraddress', 'identitytoken'] },
];

function setPath(body: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at: Record<string, unknown> = body;
  for (const p of parts.slice(0, -1)) {
    const next = at[p];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) at[p] = {};
    at = at[p] as Record<string, unknown>;
  }
  at[parts[parts.length - 1]!] = value;
}

/** The base body with one or a few fields given wrong values, and the fields changed. */
export function mutateBody(r: Rng, shape: BodyShape): { body: Record<string, unknown>; fields: string[] } {
  const body = shape.base();
  const fields = [r.pick(shape.fields)];
  for (let i = r.chance(0.7) ? 0 : r.int(1, 2); i > 0; i--) fields.push(r.pick(shape.fields));
  for (const f of fields) setPath(body, f, wrongValue(r));
  return { body, fields };
}
