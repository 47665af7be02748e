/**
 * `berth run`/`create` flags → the Engine API's ContainerCreate request,
 * field for field as the docker CLI sends it (PortBindings
 * `{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}`, NanoCpus, Memory in bytes,
 * Ulimits, Mounts …). Pure: argv in, request out; unit-tested.
 */
import { readFileSync } from 'node:fs';
import { UsageError, type FlagSpec, type Opts } from './args.js';
import { parseBytes, parseGoDuration } from './format/units.js';

export const CREATE_FLAGS: FlagSpec[] = [
  { name: 'detach', short: 'd', type: 'bool' }, { name: 'interactive', short: 'i', type: 'bool' },
  { name: 'tty', short: 't', type: 'bool' }, { name: 'rm', type: 'bool' }, { name: 'name', type: 'string' },
  { name: 'env', short: 'e', type: 'list' }, { name: 'env-file', type: 'list' },
  { name: 'publish', short: 'p', type: 'list' }, { name: 'publish-all', short: 'P', type: 'bool' }, { name: 'expose', type: 'list' },
  { name: 'volume', short: 'v', type: 'list' }, { name: 'mount', type: 'list' }, { name: 'tmpfs', type: 'list' },
  { name: 'volumes-from', type: 'list' },
  { name: 'workdir', short: 'w', type: 'string' }, { name: 'user', short: 'u', type: 'string' },
  { name: 'entrypoint', type: 'string' }, { name: 'label', short: 'l', type: 'list' }, { name: 'label-file', type: 'list' },
  { name: 'restart', type: 'string', def: 'no' },
  { name: 'memory', short: 'm', type: 'string' }, { name: 'memory-swap', type: 'string' }, { name: 'memory-reservation', type: 'string' },
  { name: 'cpus', type: 'string' }, { name: 'cpu-shares', short: 'c', type: 'int' }, { name: 'cpuset-cpus', type: 'string' },
  { name: 'pids-limit', type: 'int' }, { name: 'ulimit', type: 'list' }, { name: 'read-only', type: 'bool' },
  { name: 'cap-add', type: 'list' }, { name: 'cap-drop', type: 'list' }, { name: 'privileged', type: 'bool' },
  { name: 'security-opt', type: 'list' }, { name: 'runtime', type: 'string' }, { name: 'device', type: 'list' },
  { name: 'init', type: 'bool' }, { name: 'shm-size', type: 'string' }, { name: 'add-host', type: 'list' },
  { name: 'dns', type: 'list' }, { name: 'dns-search', type: 'list' }, { name: 'dns-option', type: 'list' },
  { name: 'hostname', short: 'h', type: 'string' }, { name: 'domainname', type: 'string' },
  { name: 'network', type: 'string' }, { name: 'net', type: 'string' }, { name: 'network-alias', type: 'list' },
  { name: 'log-driver', type: 'string' }, { name: 'log-opt', type: 'list' },
  { name: 'health-cmd', type: 'string' }, { name: 'health-interval', type: 'string' }, { name: 'health-timeout', type: 'string' },
  { name: 'health-retries', type: 'int' }, { name: 'health-start-period', type: 'string' }, { name: 'no-healthcheck', type: 'bool' },
  { name: 'stop-signal', type: 'string' }, { name: 'stop-timeout', type: 'int' }, { name: 'oom-kill-disable', type: 'bool' },
  { name: 'sysctl', type: 'list' }, { name: 'platform', type: 'string' }, { name: 'pull', type: 'string', def: 'missing' },
  { name: 'group-add', type: 'list' }, { name: 'ipc', type: 'string' }, { name: 'pid', type: 'string' }, { name: 'userns', type: 'string' },
  { name: 'sig-proxy', type: 'bool', def: true }, { name: 'detach-keys', type: 'string' }, { name: 'attach', short: 'a', type: 'list' },
  { name: 'cidfile', type: 'string' }, { name: 'quiet', short: 'q', type: 'bool' },
];

export interface PortBinding { HostIp: string; HostPort: string }
export interface MountSpec {
  Type: string; Source?: string; Target: string; ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface CreateRequest {
  name?: string;
  platform?: string;
  pull: 'missing' | 'always' | 'never';
  body: {
    Hostname?: string; Domainname?: string; User?: string;
    AttachStdin: boolean; AttachStdout: boolean; AttachStderr: boolean;
    ExposedPorts?: Record<string, Record<string, never>>;
    Tty: boolean; OpenStdin: boolean; StdinOnce: boolean;
    Env?: string[]; Cmd?: string[]; Entrypoint?: string[];
    Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
    Image: string; Volumes?: Record<string, Record<string, never>>; WorkingDir?: string;
    Labels?: Record<string, string>; StopSignal?: string; StopTimeout?: number;
    HostConfig: Record<string, unknown>;
    NetworkingConfig?: { EndpointsConfig: Record<string, { Aliases?: string[] }> };
  };
}

/** `KEY=VALUE`, or `KEY` taken from the environment when set there (as docker does). */
function envEntry(e: string, env: NodeJS.ProcessEnv): string {
  if (e.includes('=')) return e;
  const v = env[e];
  return v === undefined ? e : `${e}=${v}`;
}

/** An env or label file: one entry a line, blank lines and `#` comments skipped. */
export function readKeyValueFile(path: string, env: NodeJS.ProcessEnv): string[] {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch { throw new UsageError(`open ${path}: no such file or directory`); }
  return text.split('\n').map((l) => l.replace(/^\s+/, '')).filter((l) => l && !l.startsWith('#')).map((l) => envEntry(l.replace(/\r$/, ''), env));
}

function keyValues(list: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq === 0) throw new UsageError(`invalid ${what}: ${kv}`);
    if (eq < 0) out[kv] = ''; else out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function range(text: string, spec: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new UsageError(`invalid containerPort: ${spec}`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

/**
 * One `-p` value: `[ip:][hostPort:]containerPort[/proto]` with port ranges;
 * IPv6 addresses in brackets.
 */
export function parsePublish(spec: string): { port: string; binding: PortBinding }[] {
  let rest = spec;
  let proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) { proto = rest.slice(slash + 1).toLowerCase(); rest = rest.slice(0, slash); }
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new UsageError(`invalid proto: ${proto}`);
  let ip = '';
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (v6) { ip = v6[1]!; rest = v6[2]!; }
  const parts = rest.split(':');
  if (parts.length > 3 || (v6 && parts.length > 2)) throw new UsageError(`invalid publish opts format (should be name=value but got '${spec}')`);
  let hostPart = '';
  if (parts.length === 3) { ip = parts[0]!; hostPart = parts[1]!; } else if (parts.length === 2) hostPart = parts[0]!;
  const containerPart = parts[parts.length - 1]!;
  if (!containerPart) throw new UsageError(`no port specified: ${spec}<empty>`);
  const [cStart, cEnd] = range(containerPart, spec);
  const host = hostPart ? range(hostPart, spec) : undefined;
  const count = cEnd - cStart + 1;
  if (host && host[1] - host[0] + 1 !== count && host[0] !== host[1]) {
    throw new UsageError(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`);
  }
  const out: { port: string; binding: PortBinding }[] = [];
  for (let i = 0; i < count; i++) {
    let hostPort = '';
    if (host) hostPort = host[0] === host[1] ? (count > 1 ? String(host[0]) : hostPart) : String(host[0] + i);
    if (host && host[0] !== host[1] && count === 1) hostPort = hostPart;
    out.push({ port: `${cStart + i}/${proto}`, binding: { HostIp: ip, HostPort: hostPort } });
  }
  return out;
}

/** `--mount type=bind,source=/a,target=/b,readonly` → an API Mount. */
export function parseMount(spec: string): MountSpec {
  const m: MountSpec = { Type: 'volume', Target: '' };
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    const bool = (): boolean => val === undefined || val === 'true' || val === '1';
    switch (key) {
      case 'type': m.Type = val ?? ''; break;
      case 'source': case 'src': m.Source = val; break;
      case 'target': case 'destination': case 'dst': m.Target = val ?? ''; break;
      case 'readonly': case 'ro': m.ReadOnly = bool(); break;
      case 'bind-propagation': m.BindOptions = { ...m.BindOptions, Propagation: val }; break;
      case 'volume-nocopy': m.VolumeOptions = { ...m.VolumeOptions, NoCopy: bool() }; break;
      case 'volume-label': {
        const [k, ...v] = (val ?? '').split('=');
        m.VolumeOptions = { ...m.VolumeOptions, Labels: { ...m.VolumeOptions?.Labels, [k!]: v.join('=') } };
        break;
      }
      case 'tmpfs-size': {
        const n = parseBytes(val ?? '');
        if (n === undefined) throw new UsageError(`invalid argument "${spec}" for "--mount" flag: invalid tmpfs-size ${val}`);
        m.TmpfsOptions = { ...m.TmpfsOptions, SizeBytes: n }; break;
      }
      case 'tmpfs-mode': m.TmpfsOptions = { ...m.TmpfsOptions, Mode: parseInt(val ?? '', 8) }; break;
      default: throw new UsageError(`invalid argument "${spec}" for "--mount" flag: unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Target) throw new UsageError(`invalid argument "${spec}" for "--mount" flag: target is required`);
  return m;
}

/** `--ulimit nofile=1024:2048` (or one value for both). */
export function parseUlimit(spec: string): { Name: string; Hard: number; Soft: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(spec);
  if (!m) throw new UsageError(`invalid argument "${spec}" for "--ulimit" flag: invalid ulimit argument: ${spec}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard) throw new UsageError(`invalid argument "${spec}" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: m[1]!, Hard: hard, Soft: soft };
}

/** `--device /dev/a[:/dev/b][:rwm]`. */
export function parseDevice(spec: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = spec.split(':');
  const isPerm = (s: string | undefined): boolean => s !== undefined && /^[rwm]{1,3}$/.test(s);
  const host = parts[0]!;
  let inContainer = host;
  let perms = 'rwm';
  if (parts.length === 2) { if (isPerm(parts[1])) perms = parts[1]!; else inContainer = parts[1]!; }
  if (parts.length === 3) { inContainer = parts[1]!; if (!isPerm(parts[2])) throw new UsageError(`invalid device mode: ${parts[2]}`); perms = parts[2]!; }
  if (parts.length > 3) throw new UsageError(`invalid device specification: ${spec}`);
  return { PathOnHost: host, PathInContainer: inContainer, CgroupPermissions: perms };
}

/** `--restart no|always|unless-stopped|on-failure[:N]`. */
export function parseRestart(spec: string): { Name: string; MaximumRetryCount: number } {
  const [name, count] = spec.split(':');
  if (!['no', 'always', 'unless-stopped', 'on-failure', ''].includes(name!)) throw new UsageError(`invalid restart policy ${name}`);
  if (count !== undefined && name !== 'on-failure') throw new UsageError(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
  if (count !== undefined && !/^\d+$/.test(count)) throw new UsageError(`invalid restart policy format: maximum retry count must be an integer`);
  return { Name: name === '' ? 'no' : name!, MaximumRetryCount: count === undefined ? 0 : Number(count) };
}

function bytesFlag(o: Opts, name: string): number | undefined {
  if (!o.has(name)) return undefined;
  const v = o.str(name);
  if (v === '-1') return -1;
  const n = parseBytes(v);
  if (n === undefined) throw new UsageError(`invalid argument "${v}" for "${name === 'memory' ? '-m, ' : ''}--${name}" flag: invalid size: '${v}'`);
  return n;
}

function durationFlag(o: Opts, name: string): number | undefined {
  if (!o.has(name)) return undefined;
  const ms = parseGoDuration(o.str(name));
  if (ms === undefined) throw new UsageError(`invalid argument "${o.str(name)}" for "--${name}" flag: time: invalid duration "${o.str(name)}"`);
  return Math.round(ms * 1e6);
}

/** `--cpus 1.5` → NanoCpus 1500000000. */
export function parseCpus(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v)) throw new UsageError(`invalid argument "${v}" for "--cpus" flag: failed to parse ${v} as a rational number`);
  return Math.round(Number(v) * 1e9);
}

/** Bind or anonymous volume from `-v`: binds stay strings, `/path` alone is an anonymous volume. */
function volumes(list: string[]): { binds: string[]; anonymous: string[] } {
  const binds: string[] = [];
  const anonymous: string[] = [];
  for (const v of list) (v.includes(':') ? binds : anonymous).push(v);
  return { binds, anonymous };
}

/** Builds the ContainerCreate request of `run`/`create` from the parsed flags; args[0] is the image. */
export function buildCreateRequest(o: Opts, env: NodeJS.ProcessEnv = process.env): CreateRequest {
  const [image, ...cmd] = o.args;
  if (!image) throw new UsageError('"create" requires at least 1 argument.');
  if (o.bool('rm') && o.has('restart') && !['no', ''].includes(o.str('restart'))) throw new UsageError('Conflicting options: --restart and --rm');
  const pull = o.str('pull') as CreateRequest['pull'];
  if (!['missing', 'always', 'never'].includes(pull)) throw new UsageError(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  const detached = o.bool('detach');
  const attach = o.list('attach').map((a) => a.toLowerCase());
  const stdin = o.bool('interactive');

  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const p of o.list('publish')) {
    for (const { port, binding } of parsePublish(p)) {
      exposed[port] = {};
      (bindings[port] ??= []).push(binding);
    }
  }
  for (const e of o.list('expose')) {
    const [ports, proto = 'tcp'] = e.split('/');
    const [a, b] = range(ports!, e);
    for (let p = a; p <= b; p++) exposed[`${p}/${proto}`] = {};
  }
  const envList = [...o.list('env-file').flatMap((f) => readKeyValueFile(f, env)), ...o.list('env').map((e) => envEntry(e, env))];
  const labels = keyValues([...o.list('label-file').flatMap((f) => readKeyValueFile(f, {})), ...o.list('label')], 'label');
  const { binds, anonymous } = volumes(o.list('volume'));
  const network = o.str('network') || o.str('net') || 'default';

  const healthcheck = buildHealthcheck(o);
  const host: Record<string, unknown> = {
    Binds: binds.length > 0 ? binds : null,
    NetworkMode: network,
    PortBindings: bindings,
    RestartPolicy: parseRestart(o.str('restart')),
    AutoRemove: o.bool('rm'),
    CapAdd: o.list('cap-add').length > 0 ? o.list('cap-add') : null,
    CapDrop: o.list('cap-drop').length > 0 ? o.list('cap-drop') : null,
    Dns: o.list('dns'),
    DnsOptions: o.list('dns-option'),
    DnsSearch: o.list('dns-search'),
    ExtraHosts: o.list('add-host').length > 0 ? o.list('add-host') : null,
    Privileged: o.bool('privileged'),
    PublishAllPorts: o.bool('publish-all'),
    ReadonlyRootfs: o.bool('read-only'),
    SecurityOpt: o.list('security-opt').length > 0 ? o.list('security-opt') : null,
    LogConfig: { Type: o.str('log-driver'), Config: keyValues(o.list('log-opt'), 'log-opt') },
  };
  const setIf = (k: string, v: unknown): void => { if (v !== undefined) host[k] = v; };
  setIf('Memory', bytesFlag(o, 'memory'));
  setIf('MemorySwap', bytesFlag(o, 'memory-swap'));
  setIf('MemoryReservation', bytesFlag(o, 'memory-reservation'));
  setIf('NanoCpus', o.has('cpus') ? parseCpus(o.str('cpus')) : undefined);
  setIf('CpuShares', o.has('cpu-shares') ? o.int('cpu-shares') : undefined);
  setIf('CpusetCpus', o.has('cpuset-cpus') ? o.str('cpuset-cpus') : undefined);
  setIf('PidsLimit', o.has('pids-limit') ? o.int('pids-limit') : undefined);
  setIf('Ulimits', o.list('ulimit').length > 0 ? o.list('ulimit').map(parseUlimit) : undefined);
  setIf('Devices', o.list('device').length > 0 ? o.list('device').map(parseDevice) : undefined);
  setIf('Mounts', o.list('mount').length > 0 ? o.list('mount').map(parseMount) : undefined);
  setIf('Tmpfs', o.list('tmpfs').length > 0 ? Object.fromEntries(o.list('tmpfs').map((t) => { const i = t.indexOf(':'); return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)]; })) : undefined);
  setIf('Sysctls', o.list('sysctl').length > 0 ? keyValues(o.list('sysctl'), 'sysctl') : undefined);
  setIf('ShmSize', bytesFlag(o, 'shm-size'));
  setIf('Runtime', o.has('runtime') ? o.str('runtime') : undefined);
  setIf('Init', o.has('init') ? o.bool('init') : undefined);
  setIf('OomKillDisable', o.has('oom-kill-disable') ? o.bool('oom-kill-disable') : undefined);
  setIf('VolumesFrom', o.list('volumes-from').length > 0 ? o.list('volumes-from') : undefined);
  setIf('GroupAdd', o.list('group-add').length > 0 ? o.list('group-add') : undefined);
  setIf('IpcMode', o.has('ipc') ? o.str('ipc') : undefined);
  setIf('PidMode', o.has('pid') ? o.str('pid') : undefined);
  setIf('UsernsMode', o.has('userns') ? o.str('userns') : undefined);

  const aliases = o.list('network-alias');
  const req: CreateRequest = {
    pull,
    body: {
      AttachStdin: !detached && (stdin || attach.includes('stdin')),
      AttachStdout: !detached && (attach.length === 0 || attach.includes('stdout')),
      AttachStderr: !detached && (attach.length === 0 || attach.includes('stderr')),
      Tty: o.bool('tty'),
      OpenStdin: stdin,
      StdinOnce: stdin && !detached,
      Image: image,
      HostConfig: host,
    },
  };
  const b = req.body;
  if (o.has('hostname')) b.Hostname = o.str('hostname');
  if (o.has('domainname')) b.Domainname = o.str('domainname');
  if (o.has('user')) b.User = o.str('user');
  if (Object.keys(exposed).length > 0) b.ExposedPorts = exposed;
  if (envList.length > 0) b.Env = envList;
  if (cmd.length > 0) b.Cmd = cmd;
  if (o.has('entrypoint')) b.Entrypoint = [o.str('entrypoint')];
  if (healthcheck) b.Healthcheck = healthcheck;
  if (anonymous.length > 0) b.Volumes = Object.fromEntries(anonymous.map((v) => [v, {}]));
  if (o.has('workdir')) b.WorkingDir = o.str('workdir');
  if (Object.keys(labels).length > 0) b.Labels = labels;
  if (o.has('stop-signal')) b.StopSignal = o.str('stop-signal');
  if (o.has('stop-timeout')) b.StopTimeout = o.int('stop-timeout');
  if (aliases.length > 0) b.NetworkingConfig = { EndpointsConfig: { [network]: { Aliases: aliases } } };
  if (o.has('name')) req.name = o.str('name');
  if (o.has('platform')) req.platform = o.str('platform');
  return req;
}

function buildHealthcheck(o: Opts): CreateRequest['body']['Healthcheck'] {
  if (o.bool('no-healthcheck')) {
    if (o.has('health-cmd')) throw new UsageError('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  const any = ['health-cmd', 'health-interval', 'health-timeout', 'health-retries', 'health-start-period'].some((f) => o.has(f));
  if (!any) return undefined;
  const hc: NonNullable<CreateRequest['body']['Healthcheck']> = { Test: o.has('health-cmd') ? ['CMD-SHELL', o.str('health-cmd')] : [] };
  const interval = durationFlag(o, 'health-interval');
  const timeout = durationFlag(o, 'health-timeout');
  const start = durationFlag(o, 'health-start-period');
  if (interval !== undefined) hc.Interval = interval;
  if (timeout !== undefined) hc.Timeout = timeout;
  if (o.has('health-retries')) hc.Retries = o.int('health-retries');
  if (start !== undefined) hc.StartPeriod = start;
  return hc;
}
