/**
 * The types of the container create and update bodies, checked before a
 * handler sees them, as dockerd's JSON decoding does: a field of the wrong
 * type (a string for Memory, a number for Env, 1e308 for an int64) is a
 * 400 naming the field, never a crash further down. Unknown fields pass
 * (Docker tolerates them); null is "unset" for every field, as in Go.
 */
import { invalidArgument } from '../common/errors.js';

type Kind = 'string' | 'bool' | 'int' | 'uint16' | 'strings' | 'strslice' | 'map' | 'object' | 'array' | 'ints' | Fields;
interface Fields { [field: string]: Kind }

const INT64_LIMIT = 2 ** 63;
/** No reference is this long (a name is at most 255 bytes, a tag 128): longer ones are refused before any lookup. */
const MAX_REFERENCE = 4096;

const RESOURCES: Fields = {
  CpuShares: 'int', Memory: 'int', NanoCpus: 'int', CgroupParent: 'string', BlkioWeight: 'uint16', BlkioWeightDevice: 'array',
  BlkioDeviceReadBps: 'array', BlkioDeviceWriteBps: 'array', BlkioDeviceReadIOps: 'array', BlkioDeviceWriteIOps: 'array',
  CpuPeriod: 'int', CpuQuota: 'int', CpuRealtimePeriod: 'int', CpuRealtimeRuntime: 'int', CpusetCpus: 'string', CpusetMems: 'string',
  Devices: 'array', DeviceCgroupRules: 'strings', DeviceRequests: 'array', KernelMemory: 'int', KernelMemoryTCP: 'int',
  MemoryReservation: 'int', MemorySwap: 'int', MemorySwappiness: 'int', OomKillDisable: 'bool', PidsLimit: 'int', Ulimits: 'array',
  CpuCount: 'int', CpuPercent: 'int', IOMaximumIOps: 'int', IOMaximumBandwidth: 'int',
};

const RESTART_POLICY: Fields = { Name: 'string', MaximumRetryCount: 'int' };

const HOST_CONFIG: Fields = {
  ...RESOURCES,
  Binds: 'strings', ContainerIDFile: 'string', LogConfig: { Type: 'string', Config: 'map' }, NetworkMode: 'string', PortBindings: 'object',
  RestartPolicy: RESTART_POLICY, AutoRemove: 'bool', VolumeDriver: 'string', VolumesFrom: 'strings', Mounts: 'array', ConsoleSize: 'ints',
  Annotations: 'map', CapAdd: 'strings', CapDrop: 'strings', CgroupnsMode: 'string', Dns: 'strings', DnsOptions: 'strings',
  DnsSearch: 'strings', ExtraHosts: 'strings', GroupAdd: 'strings', IpcMode: 'string', Cgroup: 'string', Links: 'strings',
  OomScoreAdj: 'int', PidMode: 'string', Privileged: 'bool', PublishAllPorts: 'bool', ReadonlyRootfs: 'bool', SecurityOpt: 'strings',
  StorageOpt: 'map', Tmpfs: 'map', UTSMode: 'string', UsernsMode: 'string', ShmSize: 'int', Sysctls: 'map', Runtime: 'string',
  Isolation: 'string', Init: 'bool', MaskedPaths: 'strings', ReadonlyPaths: 'strings',
};

const HEALTHCHECK: Fields = { Test: 'strslice', Interval: 'int', Timeout: 'int', StartPeriod: 'int', StartInterval: 'int', Retries: 'int' };

const CONFIG: Fields = {
  Hostname: 'string', Domainname: 'string', User: 'string', AttachStdin: 'bool', AttachStdout: 'bool', AttachStderr: 'bool',
  ExposedPorts: 'object', Tty: 'bool', OpenStdin: 'bool', StdinOnce: 'bool', Env: 'strings', Cmd: 'strslice', Healthcheck: HEALTHCHECK,
  ArgsEscaped: 'bool', Image: 'string', Volumes: 'object', WorkingDir: 'string', Entrypoint: 'strslice', NetworkDisabled: 'bool',
  MacAddress: 'string', OnBuild: 'strings', Labels: 'map', StopSignal: 'string', StopTimeout: 'int', Shell: 'strings',
};

export const CONTAINER_CREATE: Fields = { ...CONFIG, HostConfig: HOST_CONFIG, NetworkingConfig: { EndpointsConfig: 'object' } };
export const CONTAINER_UPDATE: Fields = { ...RESOURCES, RestartPolicy: RESTART_POLICY };
export const EXEC_CREATE: Fields = {
  AttachStdin: 'bool', AttachStdout: 'bool', AttachStderr: 'bool', DetachKeys: 'string', Tty: 'bool', Env: 'strings',
  Cmd: 'strslice', Privileged: 'bool', User: 'string', WorkingDir: 'string', ConsoleSize: 'ints',
};
export const NETWORK_CREATE: Fields = {
  Name: 'string', Driver: 'string', Scope: 'string', Internal: 'bool', Attachable: 'bool', Ingress: 'bool', EnableIPv6: 'bool',
  CheckDuplicate: 'bool', Options: 'map', Labels: 'map', IPAM: { Driver: 'string', Config: 'array', Options: 'map' },
};

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'object') return 'an object';
  return typeof v === 'string' ? 'a string' : `a ${typeof v}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isInt = (v: unknown, lo: number, hi: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= lo && v < hi;

function check(path: string, kind: Kind, v: unknown): void {
  if (v === null || v === undefined) return;
  const fail = (want: string): never => { throw invalidArgument(`invalid JSON: ${path} must be ${want}, not ${typeName(v)}`); };
  if (typeof kind === 'object') {
    if (!isObject(v)) fail('an object');
    checkFields(path, kind, v as Record<string, unknown>);
    return;
  }
  switch (kind) {
    case 'string': if (typeof v !== 'string') fail('a string'); return;
    case 'bool': if (typeof v !== 'boolean') fail('true or false'); return;
    case 'int': if (!isInt(v, -INT64_LIMIT, INT64_LIMIT)) fail('an integer (int64)'); return;
    case 'uint16': if (!isInt(v, 0, 65536)) fail('an integer from 0 to 65535'); return;
    case 'strings': if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail('a list of strings'); return;
    case 'strslice': if (typeof v !== 'string' && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) fail('a string or a list of strings'); return;
    case 'map': if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) fail('an object of strings'); return;
    case 'object': if (!isObject(v)) fail('an object'); return;
    case 'array': if (!Array.isArray(v) || v.some((x) => !isObject(x))) fail('a list of objects'); return;
    case 'ints': if (!Array.isArray(v) || v.some((x) => !isInt(x, 0, 2 ** 32))) fail('a list of unsigned integers'); return;
  }
}

function checkFields(prefix: string, fields: Fields, body: Record<string, unknown>): void {
  for (const [field, kind] of Object.entries(fields)) {
    if (Object.hasOwn(body, field)) check(prefix === '' ? field : `${prefix}.${field}`, kind, body[field]);
  }
}

/** Throws a 400 naming the first field whose value has the wrong type. */
export function checkShape(body: Record<string, unknown>, fields: Fields): void {
  checkFields('', fields, body);
  const image = body.Image;
  if (fields === CONTAINER_CREATE && typeof image === 'string' && image.length > MAX_REFERENCE) {
    throw invalidArgument(`invalid reference format: Image is ${image.length} bytes long, a reference is at most ${MAX_REFERENCE}`);
  }
}
