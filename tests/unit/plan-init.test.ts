import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildInitPlan } from '../../src/runtime/plan/init.js';
import { buildExecPlan } from '../../src/runtime/plan/exec.js';
import { parseMountOptions, MS } from '../../src/runtime/plan/mount-options.js';
import { MountExtra, RootSwitch } from '../../src/runtime/plan/format.js';
import { nullLogger } from '../../src/common/log.js';
import { defaultConfig } from '../helpers/bundle.js';
import type { Spec } from '../../src/runtime/spec/types.js';
import type { PlanEntry } from '../../src/runtime/plan/wire.js';
import { CLONE_NEWCGROUP, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER } from '../../src/runtime/spec/namespaces.js';

function plan(mutate: (c: Record<string, any>) => void = () => {}, opts: Partial<Parameters<typeof buildInitPlan>[0]> = {}): PlanEntry[] {
  const c = defaultConfig(['sh']);
  mutate(c);
  return buildInitPlan({
    id: 'c1', spec: c as Spec, bundle: '/b', rootfs: '/b/rootfs', fifoPath: '/run/x/exec.fifo', consoleSocket: undefined,
    noPivot: false, noNewKeyring: false, preserveFds: 0, cgroup: { version: 1, paths: {} }, hookState: '{}', log: nullLogger,
    ...opts,
  });
}
const types = (p: PlanEntry[]): string[] => p.map((r) => r.type);
const find = <T extends PlanEntry['type']>(p: PlanEntry[], t: T) => p.filter((r) => r.type === t).map((r) => r.value as Extract<PlanEntry, { type: T }>['value']);

test('mount options become flags, propagation and data', () => {
  const o = parseMountOptions(['nosuid', 'noexec', 'nodev', 'ro', 'rslave', 'mode=755', 'size=65536k', 'rw', 'ro']);
  assert.equal(o.flags, MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY);
  assert.deepEqual(o.propagation, [MS.SLAVE | MS.REC]);
  assert.equal(o.data, 'mode=755,size=65536k');
  assert.equal(parseMountOptions(['rbind']).flags, MS.BIND | MS.REC);
  assert.equal(parseMountOptions(['rro']).recursiveReadonly, true);
});

test('namespaces: new ones cloned, cgroup unshared after the cgroup join, joined ones by path', () => {
  const p = plan((c) => { c.linux.namespaces.push({ type: 'user' }); c.linux.namespaces.find((n: any) => n.type === 'network').path = '/var/run/netns/x'; c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]; c.linux.gidMappings = c.linux.uidMappings; });
  const flags = find(p, 'NS_NEW')[0]!.flags;
  assert.ok(flags & CLONE_NEWPID && flags & CLONE_NEWNS && flags & CLONE_NEWUSER);
  assert.equal(flags & CLONE_NEWCGROUP, 0, 'cgroup ns is not cloned');
  assert.deepEqual(find(p, 'UNSHARE'), [{ flags: CLONE_NEWCGROUP }]);
  assert.deepEqual(find(p, 'NS_JOIN').map((j) => j.path), ['/var/run/netns/x']);
  // in a user namespace devices are bound from the host, not created
  assert.equal(find(p, 'MKNOD').length, 0);
  assert.ok(find(p, 'BIND_DEVICE').some((d) => d.path === '/dev/null'));
});

test('order: mounts, devices, root switch, then masks, readonly paths, process', () => {
  const p = plan();
  const t = types(p);
  const at = (x: string): number => t.indexOf(x);
  assert.equal(t[0], 'KIND');
  assert.ok(at('ROOTFS') < at('MOUNT'));
  assert.ok(t.lastIndexOf('MOUNT') < at('ROOT_SWITCH'));
  assert.ok(at('MKNOD') < at('ROOT_SWITCH'));
  assert.ok(at('ROOT_SWITCH') < at('MASK') && at('MASK') < at('READONLY'));
  assert.ok(at('HOSTNAME') < at('USER') && at('USER') < at('CAPS') && at('CAPS') < at('ARGS'));
  assert.equal(find(p, 'ROOT_SWITCH')[0]!.mode, RootSwitch.PIVOT_ROOT);
  assert.equal(at('HOOK_POINT'), -1, 'no hook point without hooks');
  assert.deepEqual(find(p, 'MKNOD').map((d) => d.path), ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
  assert.ok(find(p, 'SYMLINK').some((s) => s.path === '/dev/ptmx' && s.target === 'pts/ptmx'));
  assert.ok(find(p, 'MASK').some((m) => m.path === '/proc/kcore'));
});

test('capabilities become masks; user, env and args pass through', () => {
  const p = plan((c) => { c.process.user = { uid: 1000, gid: 1001, additionalGids: [5] }; });
  const caps = find(p, 'CAPS')[0]!;
  const mask = (1n << 29n) | (1n << 5n) | (1n << 10n); // AUDIT_WRITE, KILL, NET_BIND_SERVICE
  assert.equal(caps.effective, mask);
  assert.equal(caps.bounding, mask);
  assert.equal(caps.inheritable, 0n);
  assert.deepEqual(find(p, 'USER')[0], { uid: 1000, gid: 1001, groups: [5] });
  assert.deepEqual(find(p, 'ARGS')[0]!.values, ['sh']);
  assert.ok(types(p).includes('NO_NEW_PRIVS'));
});

test('bind mounts of files, read-only binds and hooks', () => {
  const p = plan((c) => {
    c.mounts.push({ destination: '/etc/hosts', type: 'bind', source: '/etc/hosts', options: ['rbind', 'ro'] });
    c.mounts.push({ destination: '/data', source: '/tmp', options: ['bind'] });
    c.hooks = { createRuntime: [{ path: '/bin/true' }] };
  }, { noPivot: true });
  const binds = find(p, 'MOUNT').filter((m) => m.fstype === 'bind');
  const hosts = binds.find((m) => m.dest === '/etc/hosts')!;
  assert.ok(hosts.extra & MountExtra.FILE_TARGET);
  assert.ok(hosts.extra & MountExtra.REMOUNT);
  assert.equal(Number(hosts.flags) & MS.RDONLY, MS.RDONLY);
  const data = binds.find((m) => m.dest === '/data')!;
  assert.equal(data.extra & MountExtra.FILE_TARGET, 0);
  assert.ok(types(p).indexOf('HOOK_POINT') < types(p).indexOf('ROOT_SWITCH'));
  assert.equal(find(p, 'ROOT_SWITCH')[0]!.mode, RootSwitch.MOVE_CHROOT);
});

test('a bind mount of a missing source is refused before anything runs', () => {
  assert.throws(() => plan((c) => { c.mounts.push({ destination: '/x', type: 'bind', source: '/no/such/dir', options: ['bind'] }); }), /mounts\[7\]\.source: bind source \/no\/such\/dir does not exist/);
});

test('exec plans join the init namespaces, user first and mount last', () => {
  const c = defaultConfig(['sh']);
  c.linux.namespaces.push({ type: 'user' });
  const p = buildExecPlan({ spec: c as Spec, initPid: 42, bundle: '/b', process: { args: ['ls'], cwd: '/', terminal: false } as any, consoleSocket: undefined, preserveFds: 0, log: nullLogger, id: 'c1' });
  const joins = find(p, 'NS_JOIN').map((j) => j.path);
  assert.equal(joins[0], '/proc/42/ns/user');
  assert.equal(joins[joins.length - 1], '/proc/42/ns/mnt');
  assert.equal(find(p, 'NS_NEW')[0]!.flags, 0);
  assert.ok(!types(p).includes('KEYRING'));
});

test('a read-only cgroup mount on v1 is a tmpfs of binds, made read-only after the root switch', () => {
  const p = plan(undefined, { cgroup: { version: 1, paths: { memory: '/sys/fs/cgroup/memory/c1' } } });
  const mounts = find(p, 'MOUNT').filter((m) => m.dest.startsWith('/sys/fs/cgroup'));
  assert.equal(mounts[0]!.fstype, 'tmpfs');
  assert.ok(mounts.every((m) => m.source !== ''), 'every mount has a source');
  const t = types(p);
  const ro = p.findIndex((r) => r.type === 'READONLY' && r.value.path === '/sys/fs/cgroup');
  assert.ok(ro > t.indexOf('ROOT_SWITCH'));
});

test('sysctls are written before /proc/sys becomes read-only', () => {
  const p = plan((c) => { c.linux.sysctl = { 'net.ipv4.ip_unprivileged_port_start': '0' }; });
  const sysctl = types(p).indexOf('SYSCTL');
  const roSys = p.findIndex((r) => r.type === 'READONLY' && r.value.path === '/proc/sys');
  assert.ok(sysctl > types(p).indexOf('ROOT_SWITCH') && sysctl < roSys);
});
