/**
 * `berth run` flags → the ContainerCreate body, in the JSON shapes the docker
 * CLI sends, and docker's flag grammar (-it, -e K=V, --rm=false, flags
 * stopping at the image).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Opts, parseArgs, UsageError } from '../../src/cli/args.js';
import { buildCreateRequest, CREATE_FLAGS, parsePublish } from '../../src/cli/runflags.js';

const req = (argv: string[], env: NodeJS.ProcessEnv = {}) => buildCreateRequest(new Opts(parseArgs(argv, CREATE_FLAGS, false)), env);

test('flags stop at the image; the rest is the command', () => {
  const r = req(['-it', '--rm', '--name', 'x', 'busybox', 'sh', '-c', 'echo -e hi']);
  assert.equal(r.name, 'x');
  assert.equal(r.body.Image, 'busybox');
  assert.deepEqual(r.body.Cmd, ['sh', '-c', 'echo -e hi']);
  assert.equal(r.body.Tty, true);
  assert.equal(r.body.OpenStdin, true);
  assert.equal(r.body.StdinOnce, true);
  assert.equal(r.body.AttachStdin, true);
  assert.equal(r.body.HostConfig.AutoRemove, true);
  assert.equal(r.body.HostConfig.NetworkMode, 'default');
  assert.deepEqual(r.body.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
});

test('-d detaches every stream', () => {
  const r = req(['-d', 'busybox']);
  assert.equal(r.body.AttachStdout, false);
  assert.equal(r.body.AttachStderr, false);
  assert.equal(r.body.Cmd, undefined);
});

test('ports: PortBindings and ExposedPorts as docker sends them', () => {
  const r = req(['-p', '8080:80', '-p', '127.0.0.1:9090:90/udp', '-p', '443', '--expose', '7000-7001', 'img']);
  assert.deepEqual(r.body.HostConfig.PortBindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8080' }],
    '90/udp': [{ HostIp: '127.0.0.1', HostPort: '9090' }],
    '443/tcp': [{ HostIp: '', HostPort: '' }],
  });
  assert.deepEqual(r.body.ExposedPorts, { '80/tcp': {}, '90/udp': {}, '443/tcp': {}, '7000/tcp': {}, '7001/tcp': {} });
  assert.deepEqual(parsePublish('[::1]:8080:80'), [{ port: '80/tcp', binding: { HostIp: '::1', HostPort: '8080' } }]);
  assert.deepEqual(parsePublish('8080-8081:80-81').map((p) => [p.port, p.binding.HostPort]), [['80/tcp', '8080'], ['81/tcp', '8081']]);
  assert.throws(() => parsePublish('a:b'), UsageError);
});

test('resources: Memory with units, NanoCpus, Ulimits, Devices, PidsLimit', () => {
  const h = req(['--memory', '512m', '--memory-swap', '-1', '--cpus', '1.5', '--cpu-shares', '512', '--cpuset-cpus', '0-1', '--pids-limit', '100',
    '--ulimit', 'nofile=1024:2048', '--ulimit', 'nproc=64', '--device', '/dev/fuse', '--device', '/dev/sda:/dev/xvda:r', '--shm-size', '64m',
    '--oom-kill-disable', 'img']).body.HostConfig;
  assert.equal(h.Memory, 536870912);
  assert.equal(h.MemorySwap, -1);
  assert.equal(h.NanoCpus, 1500000000);
  assert.equal(h.CpuShares, 512);
  assert.equal(h.CpusetCpus, '0-1');
  assert.equal(h.PidsLimit, 100);
  assert.deepEqual(h.Ulimits, [{ Name: 'nofile', Hard: 2048, Soft: 1024 }, { Name: 'nproc', Hard: 64, Soft: 64 }]);
  assert.deepEqual(h.Devices, [
    { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' },
    { PathOnHost: '/dev/sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'r' },
  ]);
  assert.equal(h.ShmSize, 67108864);
  assert.equal(h.OomKillDisable, true);
  assert.throws(() => req(['-m', 'lots', 'img']), /invalid size/);
  assert.throws(() => req(['--cpus', 'x', 'img']), /--cpus/);
});

test('volumes, mounts and tmpfs', () => {
  const r = req(['-v', '/host:/data:ro', '-v', '/anon', '--mount', 'type=bind,source=/a,target=/b,readonly', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m',
    '--tmpfs', '/run:rw,size=64m', '--tmpfs', '/x', 'img']);
  assert.deepEqual(r.body.HostConfig.Binds, ['/host:/data:ro']);
  assert.deepEqual(r.body.Volumes, { '/anon': {} });
  assert.deepEqual(r.body.HostConfig.Mounts, [
    { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true },
    { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576 } },
  ]);
  assert.deepEqual(r.body.HostConfig.Tmpfs, { '/run': 'rw,size=64m', '/x': '' });
  assert.throws(() => req(['--mount', 'type=bind,source=/a', 'img']), /target is required/);
});

test('env, env files, labels, and the identity flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  try {
    writeFileSync(join(dir, 'env'), '# comment\nA=1\n\nFROM_HOST\nUNSET\n');
    const r = req(['--env-file', join(dir, 'env'), '-e', 'B=2', '-e', 'HOME', '-l', 'k=v', '--label', 'flag', '-w', '/w', '-u', '1000:1000',
      '--entrypoint', '/bin/sh', '-h', 'box', '--domainname', 'example', '--stop-signal', 'SIGINT', '--stop-timeout', '3', 'img'], { FROM_HOST: 'x', HOME: '/root' });
    assert.deepEqual(r.body.Env, ['A=1', 'FROM_HOST=x', 'UNSET', 'B=2', 'HOME=/root']);
    assert.deepEqual(r.body.Labels, { k: 'v', flag: '' });
    assert.equal(r.body.WorkingDir, '/w');
    assert.equal(r.body.User, '1000:1000');
    assert.deepEqual(r.body.Entrypoint, ['/bin/sh']);
    assert.equal(r.body.Hostname, 'box');
    assert.equal(r.body.Domainname, 'example');
    assert.equal(r.body.StopSignal, 'SIGINT');
    assert.equal(r.body.StopTimeout, 3);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('security, network, logging, health and restart', () => {
  const r = req(['--cap-add', 'NET_ADMIN', '--cap-drop', 'ALL', '--privileged', '--security-opt', 'no-new-privileges', '--read-only', '--runtime', 'berth-sandbox',
    '--init', '--add-host', 'db:10.0.0.2', '--dns', '1.1.1.1', '--dns-search', 'example.com', '--network', 'front', '--network-alias', 'web',
    '--log-driver', 'json-file', '--log-opt', 'max-size=10m', '--sysctl', 'net.ipv4.ip_forward=1', '--restart', 'on-failure:3',
    '--health-cmd', 'true', '--health-interval', '5s', '--health-timeout', '1s', '--health-retries', '2', '--health-start-period', '1m', '--platform', 'linux/amd64', 'img']);
  const h = r.body.HostConfig;
  assert.deepEqual([h.CapAdd, h.CapDrop, h.Privileged, h.SecurityOpt, h.ReadonlyRootfs, h.Runtime, h.Init], [['NET_ADMIN'], ['ALL'], true, ['no-new-privileges'], true, 'berth-sandbox', true]);
  assert.deepEqual([h.ExtraHosts, h.Dns, h.DnsSearch, h.NetworkMode], [['db:10.0.0.2'], ['1.1.1.1'], ['example.com'], 'front']);
  assert.deepEqual(r.body.NetworkingConfig, { EndpointsConfig: { front: { Aliases: ['web'] } } });
  assert.deepEqual(h.LogConfig, { Type: 'json-file', Config: { 'max-size': '10m' } });
  assert.deepEqual(h.Sysctls, { 'net.ipv4.ip_forward': '1' });
  assert.deepEqual(h.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(r.body.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 1e9, Retries: 2, StartPeriod: 60e9 });
  assert.equal(r.platform, 'linux/amd64');
  assert.deepEqual(req(['--no-healthcheck', 'img']).body.Healthcheck, { Test: ['NONE'] });
  assert.throws(() => req(['--rm', '--restart', 'always', 'img']), /Conflicting options: --restart and --rm/);
  assert.throws(() => req(['--restart', 'always:2', 'img']), /maximum retry count/);
  assert.throws(() => req(['--pull', 'sometimes', 'img']), /invalid pull option/);
});

test('the flag grammar: combined shorts, inline values, booleans with =, unknown flags', () => {
  const p = parseArgs(['-ite', 'A=1', '-eB=2', '--rm=false', '--name=n', 'img', '-x'], CREATE_FLAGS, false);
  assert.deepEqual(p.flags.get('env'), ['A=1', 'B=2']);
  assert.equal(p.flags.get('rm'), false);
  assert.equal(p.flags.get('name'), 'n');
  assert.deepEqual(p.args, ['img', '-x']);
  assert.throws(() => parseArgs(['--bogus', 'img'], CREATE_FLAGS, false), { message: 'unknown flag: --bogus' });
  assert.throws(() => parseArgs(['-z'], CREATE_FLAGS, false), { message: "unknown shorthand flag: 'z' in -z" });
  assert.throws(() => parseArgs(['--name'], CREATE_FLAGS, false), { message: 'flag needs an argument: --name' });
  assert.deepEqual(parseArgs(['a', '-a', 'b'], [{ name: 'all', short: 'a', type: 'bool' }]).args, ['a', 'b']);
});
