/**
 * berthd's Docker create body → OCI spec: capabilities, privileged,
 * seccomp and security options, user resolution, Env/Cmd/Entrypoint rules,
 * mounts, resources, ulimits, init.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/common/errors.js';
import {
  ALL_CAPS, DEFAULT_CAPS, buildSpec, capsOfMask, containerCaps, convertSeccompProfile, mergeImageConfig, resolveUser, userMounts, resolvConf, hostsFile,
  type SpecInput,
} from '../../src/daemon/spec/index.js';
import type { DockerConfig, DockerHostConfig } from '../../src/daemon/containers/types.js';

const ID = 'a'.repeat(64);
const ROOT_USER = { uid: 0, gid: 0, additionalGids: [], home: '/root' };

function spec(config: DockerConfig, host: DockerHostConfig = {}, extra: Partial<SpecInput> = {}) {
  return buildSpec({ id: ID, config: { Cmd: ['sh'], ...config }, host, user: ROOT_USER, userMounts: [], network: { host: false }, ...extra });
}

const kind = (k: string) => (err: unknown) => err instanceof BerthError && err.kind === k;

test('default capabilities are dockerd\'s 14', () => {
  const s = spec({}).spec;
  assert.equal(s.process.capabilities.bounding.length, 14);
  assert.deepEqual(new Set(s.process.capabilities.effective), new Set(DEFAULT_CAPS));
  assert.ok(!s.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
});

test('CapAdd/CapDrop: names with or without CAP_, any case, ALL both ways', () => {
  assert.ok(containerCaps(['net_admin'], []).includes('CAP_NET_ADMIN'));
  assert.ok(!containerCaps([], ['CAP_CHOWN']).includes('CAP_CHOWN'));
  assert.deepEqual(containerCaps([], ['ALL']), []);
  assert.deepEqual(containerCaps(['SYS_TIME'], ['all']), ['CAP_SYS_TIME']);
  assert.deepEqual(containerCaps(['ALL'], ['MKNOD']), ALL_CAPS.filter((c) => c !== 'CAP_MKNOD'));
  assert.throws(() => containerCaps(['NOT_A_CAP'], []), kind('invalid-argument'));
});

test('privileged: every capability the daemon holds, no seccomp, no masked paths, writable /sys, all devices allowed', () => {
  const held = capsOfMask('000001fffeffffff');
  assert.ok(!held.includes('CAP_SYS_RESOURCE'));
  const s = spec({}, { Privileged: true }, { hostCaps: held }).spec;
  assert.deepEqual(s.process.capabilities.bounding, held);
  assert.equal(s.linux.seccomp, undefined);
  assert.equal(s.linux.maskedPaths, undefined);
  assert.equal(s.linux.readonlyPaths, undefined);
  assert.ok(!s.mounts.find((m) => m.destination === '/sys')!.options.includes('ro'));
  assert.deepEqual(s.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
});

test('unprivileged: default seccomp profile follows the capabilities, masked and read-only paths as Docker\'s', () => {
  const s = spec({}).spec;
  assert.equal(s.linux.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
  const allowed = s.linux.seccomp!.syscalls[0]!.names;
  assert.ok(allowed.includes('read') && !allowed.includes('mount'));
  const admin = spec({}, { CapAdd: ['SYS_ADMIN'] }).spec;
  assert.ok(admin.linux.seccomp!.syscalls[0]!.names.includes('mount'));
  assert.ok(s.linux.maskedPaths!.includes('/proc/kcore') && s.linux.maskedPaths!.includes('/sys/firmware'));
  assert.ok(s.linux.readonlyPaths!.includes('/proc/sys'));
  assert.ok(s.mounts.find((m) => m.destination === '/sys')!.options.includes('ro'));
});

test('SecurityOpt: seccomp=unconfined, a profile as JSON, no-new-privileges, apparmor warned, unknown refused', () => {
  assert.equal(spec({}, { SecurityOpt: ['seccomp=unconfined'] }).spec.linux.seccomp, undefined);
  const custom = spec({}, { SecurityOpt: [`seccomp=${JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] })}`] }).spec;
  assert.equal(custom.linux.seccomp?.defaultAction, 'SCMP_ACT_ALLOW');
  assert.deepEqual(custom.linux.seccomp?.syscalls, [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }]);
  assert.equal(spec({}, { SecurityOpt: ['no-new-privileges'] }).spec.process.noNewPrivileges, true);
  assert.equal(spec({}).spec.process.noNewPrivileges, false);
  const aa = spec({}, { SecurityOpt: ['apparmor=unconfined'] });
  assert.equal(aa.warnings.length, 1);
  assert.throws(() => spec({}, { SecurityOpt: ['bogus=1'] }), kind('invalid-argument'));
  assert.throws(() => spec({}, { SecurityOpt: ['seccomp={not json'] }), kind('invalid-argument'));
});

test('a Docker-format profile: rules conditioned on capabilities kept only when held', () => {
  const p = convertSeccompProfile({
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] } },
    ],
  }, ['CAP_CHOWN']);
  assert.deepEqual(p.syscalls.map((r) => r.names[0]), ['read', 'clone']);
  if (process.arch === 'x64') assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
});

test('Env/Cmd/Entrypoint merged with the image as dockerd does', () => {
  const image = { Env: ['PATH=/bin', 'A=image'], Cmd: ['sh'], Entrypoint: ['/entry'], WorkingDir: '/w', User: 'user', Labels: { l: 'image' } };
  const m = mergeImageConfig({ Env: ['A=mine', 'B=2'], Labels: { m: '1' } }, image);
  assert.deepEqual(m.Env, ['A=mine', 'B=2', 'PATH=/bin']); // the user's first, then the image's
  assert.deepEqual(m.Entrypoint, ['/entry']);
  assert.deepEqual(m.Cmd, ['sh']);
  assert.equal(m.WorkingDir, '/w');
  assert.equal(m.User, 'user');
  assert.deepEqual(m.Labels, { l: 'image', m: '1' });
  // an Entrypoint given drops the image's Cmd
  assert.equal(mergeImageConfig({ Entrypoint: ['/other'] }, image).Cmd, null);
  // Entrypoint [""] resets it
  const reset = mergeImageConfig({ Entrypoint: [''], Cmd: ['echo', 'x'] }, image);
  assert.equal(reset.Entrypoint, null);
  assert.deepEqual(reset.Cmd, ['echo', 'x']);
  // a Cmd given keeps the image's Entrypoint
  assert.deepEqual(mergeImageConfig({ Cmd: ['-v'] }, image).Entrypoint, ['/entry']);
  const s = spec({ Entrypoint: ['/entry'], Cmd: ['-v'], Env: ['A=1'], Tty: true }).spec;
  assert.deepEqual(s.process.args, ['/entry', '-v']);
  assert.deepEqual(s.process.env.slice(0, 3), ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${ID.slice(0, 12)}`, 'TERM=xterm']);
  assert.ok(s.process.env.includes('A=1') && s.process.env.includes('HOME=/root'));
  assert.equal(s.hostname, ID.slice(0, 12));
  assert.throws(() => spec({ Cmd: [] }), /No command specified/);
});

test('user: name, uid, name:group, uid:gid, supplementary groups, unknown name refused', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n';
  const group = 'root:x:0:\nuser:x:1000:\nextra:x:2000:user,other\nwheel:x:10:\n';
  assert.deepEqual(resolveUser('user', passwd, group), { uid: 1000, gid: 1000, additionalGids: [1000, 2000], home: '/home/user' });
  assert.deepEqual(resolveUser('1000:10', passwd, group), { uid: 1000, gid: 10, additionalGids: [10], home: '/home/user' });
  assert.deepEqual(resolveUser('user:wheel', passwd, group).gid, 10);
  // the primary group is a supplementary one too, as dockerd gives it (id: groups=0(root))
  assert.deepEqual(resolveUser('4242', passwd, group), { uid: 4242, gid: 0, additionalGids: [0], home: '/' });
  assert.deepEqual(resolveUser('', passwd, group, ['wheel']).additionalGids, [0, 10]);
  assert.throws(() => resolveUser('nobody', passwd, group), /unable to find user nobody/);
  assert.throws(() => resolveUser('user:nogroup', passwd, group), /unable to find group nogroup/);
});

test('mounts: Docker\'s defaults, ShmSize, read-only rootfs, binds, tmpfs, duplicates refused, volumes asked of the resolver', async () => {
  const s = spec({}, { ShmSize: 1 << 20, ReadonlyRootfs: true }).spec;
  assert.deepEqual(s.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
  assert.ok(s.mounts.find((m) => m.destination === '/dev/shm')!.options.includes(`size=${1 << 20}`));
  assert.equal(s.root.readonly, true);
  const dir = mkdtempSync(join(tmpdir(), 'daemon-spec-'));
  try {
    const asked: string[] = [];
    const mounts = await userMounts({ Binds: [`${dir}:/data:ro`, 'named:/vol'], Tmpfs: { '/run': 'size=1m' }, Mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 4096 } }] },
      async (asks) => asks.map((a) => { asked.push(a.name); return { name: a.name, target: a.target, source: `/vols/${a.name}` }; }));
    assert.deepEqual(asked, ['named']);
    const bind = mounts.find((m) => m.mount.destination === '/data')!;
    assert.deepEqual(bind.mount, { destination: '/data', type: 'bind', source: dir, options: ['rbind', 'rprivate', 'ro'] });
    assert.deepEqual(bind.point, { Type: 'bind', Source: dir, Destination: '/data', Mode: 'ro', RW: false, Propagation: 'rprivate' });
    assert.equal(mounts.find((m) => m.mount.destination === '/vol')!.point.Name, 'named');
    assert.ok(mounts.find((m) => m.mount.destination === '/run')!.mount.options.includes('size=1m'));
    assert.ok(mounts.find((m) => m.mount.destination === '/t')!.mount.options.includes('size=4096'));
    await assert.rejects(userMounts({ Binds: [`${dir}:/x`, `${dir}:/x`] }, async () => []), /Duplicate mount point: \/x/);
    await assert.rejects(userMounts({ Mounts: [{ Type: 'bind', Source: join(dir, 'absent'), Target: '/y' }] }, async () => []), /bind source path does not exist/);
    await assert.rejects(userMounts({ Binds: ['relative:x'] }, async () => []), /must be absolute/);
    // a user's tmpfs on /dev/shm replaces the default one
    const over = spec({}, {}, { userMounts: mounts.filter((m) => m.mount.destination === '/run').map((m) => ({ ...m, mount: { ...m.mount, destination: '/dev/shm' } })) }).spec;
    assert.equal(over.mounts.filter((m) => m.destination === '/dev/shm').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resources, ulimits, sysctls, namespaces, init', () => {
  const s = spec({}, {
    Memory: 64 << 20, NanoCpus: 1.5e9, CpuShares: 512, PidsLimit: 100, CpusetCpus: '0', OomKillDisable: true,
    Ulimits: [{ Name: 'nproc', Soft: 10, Hard: 20 }], Sysctls: { 'net.ipv4.ip_forward': '1' }, PidMode: 'host', Init: true,
  }, { initBinary: '/usr/bin/tini-static', defaultNofile: 4096 }).spec;
  assert.deepEqual(s.linux.resources.memory, { limit: 64 << 20, swap: 128 << 20, disableOOMKiller: true });
  assert.deepEqual(s.linux.resources.cpu, { period: 100000, quota: 150000, shares: 512, cpus: '0' });
  assert.deepEqual(s.linux.resources.pids, { limit: 100 });
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 4096, soft: 4096 }, { type: 'RLIMIT_NPROC', hard: 20, soft: 10 }]);
  assert.deepEqual(s.linux.sysctl, { 'net.ipv4.ip_forward': '1' });
  assert.ok(!s.linux.namespaces.some((n) => n.type === 'pid'));
  assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sh']);
  assert.ok(s.mounts.some((m) => m.destination === '/sbin/docker-init' && m.source === '/usr/bin/tini-static'));
  assert.ok(!spec({}, {}, { network: { host: true } }).spec.linux.namespaces.some((n) => n.type === 'network'));
  assert.throws(() => spec({}, { Sysctls: { 'kernel.hostname': 'x' } }), /not allowed/);
  assert.throws(() => spec({}, { Memory: 1024 }), /Minimum memory limit/);
  assert.throws(() => spec({}, { Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }), /invalid ulimit/);
});

test('per-container files: hosts with ExtraHosts, resolv.conf without loopback servers', () => {
  const hosts = hostsFile({ hostname: 'abc', extraHosts: ['db:10.0.0.2'], hostNetwork: false });
  assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(hosts, /^10\.0\.0\.2\tdb$/m);
  assert.equal(resolvConf({ host: 'nameserver 127.0.0.53\nsearch lan\n', dns: [], search: [], options: [], hostNetwork: false }), 'search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(resolvConf({ host: 'nameserver 10.1.1.1\n', dns: ['1.1.1.1'], search: [], options: ['ndots:2'], hostNetwork: false }), 'nameserver 1.1.1.1\noptions ndots:2\n');
});
