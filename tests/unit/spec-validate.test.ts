// validateSpec / loadSpec: a full config passes, and each rule fails with
// the exact field path and reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/common/errors.js';
import { validateProcess, validateSpec } from '../../src/runtime/spec/validate.js';
import { loadSpec } from '../../src/runtime/spec/load.js';
import { parseJson, stringifyJson } from '../../src/runtime/spec/json.js';
import type { Spec } from '../../src/runtime/spec/types.js';

/** A config using nearly every field of the 1.2 spec (Linux). */
function fullConfig(): Record<string, unknown> {
  return {
    ociVersion: '1.2.0',
    process: {
      terminal: true,
      consoleSize: { height: 25, width: 80 },
      user: { uid: 1, gid: 1, umask: 0o22, additionalGids: [5, 6] },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        inheritable: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL'],
        ambient: ['CAP_NET_BIND_SERVICE'],
      },
      rlimits: [{ type: 'RLIMIT_CORE', hard: 1024, soft: 1024 }, { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      apparmorProfile: 'acme_secure_profile',
      oomScoreAdj: 100,
      scheduler: { policy: 'SCHED_OTHER', nice: 5 },
      selinuxLabel: 'system_u:system_r:svirt_lxc_net_t:s0:c124,c675',
      ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 4 },
      execCPUAffinity: { initial: '7', final: '0-3,7' },
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'slartibartfast',
    domainname: 'foobarbaz.test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/data', type: 'none', source: '/volumes/testing', options: ['rbind', 'rw', 'idmap'],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] },
    ],
    hooks: {
      prestart: [{ path: '/usr/bin/fix-mounts', args: ['fix-mounts', 'arg1'], env: ['key1=value1'] }],
      createRuntime: [{ path: '/usr/bin/setup-network' }],
      createContainer: [{ path: '/usr/bin/mount-hook', args: ['-mount'] }],
      startContainer: [{ path: '/usr/bin/refresh-ldcache' }],
      poststart: [{ path: '/usr/bin/notify-start', timeout: 5 }],
      poststop: [{ path: '/usr/sbin/cleanup.sh', args: ['cleanup.sh', '-f'] }],
    },
    linux: {
      devices: [
        { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
        { path: '/dev/fifo', type: 'p' },
      ],
      uidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
      gidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
      sysctl: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '4096', 'fs.mqueue.msg_max': '20', 'kernel.domainname': 'x' },
      cgroupsPath: '/myRuntime/myContainer',
      resources: {
        network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
        pids: { limit: 32771 },
        hugepageLimits: [{ pageSize: '2MB', limit: 9223372036854772000n }],
        memory: { limit: 536870912, reservation: 536870912, swap: 536870912, kernel: -1, kernelTCP: -1, swappiness: 0, disableOOMKiller: false },
        cpu: { shares: 1024, quota: 1000000, burst: 1000000, period: 500000, realtimeRuntime: 950000, realtimePeriod: 1000000, cpus: '2-3', mems: '0-7', idle: 0 },
        devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }],
        blockIO: {
          weight: 10, leafWeight: 10,
          weightDevice: [{ major: 8, minor: 0, weight: 500, leafWeight: 300 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 300 }],
        },
        rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
        unified: { 'io.max': '259:0 rbps=2097152' },
      },
      intelRdt: { closID: 'guaranteed_group', l3CacheSchema: 'L3:0=7f0;1=1f' },
      rootfsPropagation: 'slave',
      seccomp: {
        defaultAction: 'SCMP_ACT_ALLOW',
        defaultErrnoRet: undefined,
        architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86_64'],
        flags: ['SECCOMP_FILTER_FLAG_LOG'],
        listenerPath: '/run/agent.sock',
        listenerMetadata: 'meta',
        syscalls: [
          { names: ['getcwd', 'chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
          { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xffffffff, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
          { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' },
        ],
      },
      timeOffsets: { monotonic: { secs: 172800, nanosecs: 0 }, boottime: { secs: 604800, nanosecs: 0 } },
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup', 'time'].map((type) => ({ type })),
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      mountLabel: 'system_u:object_r:svirt_sandbox_file_t:s0:c715,c811',
      personality: { domain: 'LINUX' },
    },
    annotations: { 'com.example.key1': 'value1' },
  };
}

/** Applies a change to a fresh full config and returns the error message. */
function errorOf(change: (c: any) => void, options?: { requireProcess?: boolean }): string {
  const config = fullConfig();
  change(config);
  try {
    validateSpec(config, 'config.json', options);
  } catch (err) {
    assert.ok(err instanceof BerthError, `not a BerthError: ${String(err)}`);
    assert.equal(err.kind, 'invalid-argument');
    return err.message;
  }
  assert.fail('the config was accepted');
}

test('a full 1.2 config passes with no warnings', () => {
  const { spec, warnings } = validateSpec(fullConfig());
  assert.deepEqual(warnings, []);
  assert.equal(spec.linux?.namespaces?.length, 8);
  assert.equal(spec.linux?.resources?.hugepageLimits?.[0].limit, 9223372036854772000n);
});

test('unknown properties are kept, at every level, and never an error', () => {
  const config = fullConfig() as any;
  config.vendorExtension = { a: 1 };
  config.process.user.username = 'ignored-on-linux';
  config.linux.resources.memory.futureKnob = true;
  config.windows = { layerFolders: [] };
  config.hooks.futureHookPoint = [1, 'x'];
  const { spec } = validateSpec(config) as { spec: any };
  assert.deepEqual(spec.vendorExtension, { a: 1 });
  assert.equal(spec.process.user.username, 'ignored-on-linux');
  assert.equal(spec.linux.resources.memory.futureKnob, true);
  assert.deepEqual(spec.windows, { layerFolders: [] });
});

test('a minimal config without process is accepted when process is not required', () => {
  const { spec } = validateSpec({ ociVersion: '1.0.2-dev', root: { path: 'rootfs' } }, 'config.json', { requireProcess: false });
  assert.equal(spec.root?.path, 'rootfs');
});

const cases: [string, (c: any) => void, string][] = [
  // shape
  ['ociVersion missing', (c) => delete c.ociVersion, 'config.json: ociVersion: is required'],
  ['ociVersion not a string', (c) => (c.ociVersion = 1), 'config.json: ociVersion: must be a string, not a number'],
  ['ociVersion not semver', (c) => (c.ociVersion = 'latest'), 'config.json: ociVersion: "latest" is not a semantic version such as "1.2.0"'],
  ['ociVersion 2.x', (c) => (c.ociVersion = '2.0.0'), 'config.json: ociVersion: version "2.0.0" is not supported (1.x is)'],
  ['root missing', (c) => delete c.root, 'config.json: root: is required'],
  ['root.path missing', (c) => delete c.root.path, 'config.json: root.path: is required'],
  ['root.path empty', (c) => (c.root.path = ''), 'config.json: root.path: must not be empty'],
  ['root.readonly not a boolean', (c) => (c.root.readonly = 'yes'), 'config.json: root.readonly: must be true or false, not a string'],
  ['process missing', (c) => delete c.process, 'config.json: process: is required to create a container'],
  ['process.args missing', (c) => delete c.process.args, 'config.json: process.args: must contain at least one element'],
  ['process.args empty', (c) => (c.process.args = []), 'config.json: process.args: must contain at least one element'],
  ['process.args element not a string', (c) => (c.process.args = ['sh', 3]), 'config.json: process.args[1]: must be a string, not a number'],
  ['process.cwd missing', (c) => delete c.process.cwd, 'config.json: process.cwd: is required'],
  ['process.cwd relative', (c) => (c.process.cwd = 'home'), 'config.json: process.cwd: must be an absolute path, not "home"'],
  ['process.env without =', (c) => (c.process.env = ['A=1', 'B']), 'config.json: process.env[1]: must be NAME=value, not "B"'],
  ['process.user missing', (c) => delete c.process.user, 'config.json: process.user: is required'],
  ['process.user.uid negative', (c) => (c.process.user.uid = -1), 'config.json: process.user.uid: must be an unsigned 32-bit integer'],
  ['process.user.gid too large', (c) => (c.process.user.gid = 2 ** 32), 'config.json: process.user.gid: must be an unsigned 32-bit integer'],
  ['process.rlimits unknown type', (c) => (c.process.rlimits[1].type = 'RLIMIT_FOO'), 'config.json: process.rlimits[1].type: unknown rlimit type "RLIMIT_FOO"'],
  ['process.rlimits duplicate', (c) => (c.process.rlimits[1].type = 'RLIMIT_CORE'), 'config.json: process.rlimits[1].type: duplicate rlimit type "RLIMIT_CORE"'],
  ['process.rlimits negative', (c) => (c.process.rlimits[0].soft = -1), 'config.json: process.rlimits[0].soft: must be an unsigned 64-bit integer'],
  ['process.rlimits soft above hard', (c) => (c.process.rlimits[0].soft = 2048), 'config.json: process.rlimits[0]: soft limit 2048 is above the hard limit 1024'],
  ['process.oomScoreAdj out of range', (c) => (c.process.oomScoreAdj = 1001), 'config.json: process.oomScoreAdj: must be an integer from -1000 to 1000'],
  ['process.scheduler unknown policy', (c) => (c.process.scheduler.policy = 'SCHED_FAST'), 'config.json: process.scheduler.policy: unknown scheduler policy "SCHED_FAST"'],
  ['process.scheduler nice', (c) => (c.process.scheduler.nice = 30), 'config.json: process.scheduler.nice: must be from -20 to 19 with SCHED_OTHER'],
  ['process.scheduler priority', (c) => (c.process.scheduler.priority = 3), 'config.json: process.scheduler.priority: is only allowed with SCHED_FIFO or SCHED_RR'],
  ['process.scheduler runtime', (c) => (c.process.scheduler.runtime = 3), 'config.json: process.scheduler.runtime: is only allowed with SCHED_DEADLINE'],
  ['process.ioPriority class', (c) => (c.process.ioPriority.class = 'IOPRIO_CLASS_X'), 'config.json: process.ioPriority.class: unknown I/O priority class "IOPRIO_CLASS_X"'],
  ['process.ioPriority priority', (c) => (c.process.ioPriority.priority = 8), 'config.json: process.ioPriority.priority: must be an integer from 0 to 7'],
  ['process.terminal not boolean', (c) => (c.process.terminal = 1), 'config.json: process.terminal: must be true or false, not a number'],
  ['process.capabilities set not an array', (c) => (c.process.capabilities.bounding = 'CAP_KILL'), 'config.json: process.capabilities.bounding: must be an array, not a string'],
  // namespaces
  ['unknown namespace type', (c) => (c.linux.namespaces[2].type = 'foo'), 'config.json: linux.namespaces[2].type: unknown namespace type "foo"'],
  ['duplicate namespace', (c) => (c.linux.namespaces[3].type = 'pid'), 'config.json: linux.namespaces[3].type: duplicate namespace type "pid"'],
  ['namespace path relative', (c) => (c.linux.namespaces[1].path = 'var/run/netns/x'), 'config.json: linux.namespaces[1].path: must be an absolute path, not "var/run/netns/x"'],
  ['new user namespace without uid mappings', (c) => delete c.linux.uidMappings, 'config.json: linux.uidMappings: required with a new user namespace'],
  ['new user namespace without gid mappings', (c) => (c.linux.gidMappings = []), 'config.json: linux.gidMappings: required with a new user namespace'],
  ['mappings without a user namespace', (c) => c.linux.namespaces.splice(5, 1), 'config.json: linux.uidMappings: given, but linux.namespaces has no user namespace'],
  ['mapping of size 0', (c) => (c.linux.uidMappings[0].size = 0), 'config.json: linux.uidMappings[0].size: must be greater than zero'],
  ['time offsets without a time namespace', (c) => c.linux.namespaces.splice(7, 1), 'config.json: linux.timeOffsets: given, but linux.namespaces has no time namespace'],
  ['time offsets with a joined time namespace', (c) => (c.linux.namespaces[7].path = '/proc/1/ns/time'), 'config.json: linux.timeOffsets: cannot be combined with joining a time namespace by path'],
  ['unknown clock', (c) => (c.linux.timeOffsets.realtime = { secs: 1 }), 'config.json: linux.timeOffsets.realtime: unknown clock "realtime" (monotonic or boottime)'],
  ['hostname without uts', (c) => c.linux.namespaces.splice(3, 1), 'config.json: hostname: cannot be set without a private UTS namespace'],
  ['domainname without uts', (c) => { c.linux.namespaces.splice(3, 1); delete c.hostname; delete c.linux.sysctl['kernel.domainname']; }, 'config.json: domainname: cannot be set without a private UTS namespace'],
  ['masked paths without a mount namespace', (c) => c.linux.namespaces.splice(4, 1), 'config.json: linux.maskedPaths: cannot be applied without a private mount namespace'],
  ['masked path relative', (c) => c.linux.maskedPaths.push('proc/kcore'), 'config.json: linux.maskedPaths[1]: must be an absolute path, not "proc/kcore"'],
  ['readonly path relative', (c) => (c.linux.readonlyPaths = ['sys']), 'config.json: linux.readonlyPaths[0]: must be an absolute path, not "sys"'],
  // sysctl, as runc decides
  ['net sysctl without a network namespace', (c) => c.linux.namespaces.splice(1, 1), 'config.json: linux.sysctl["net.ipv4.ip_forward"]: cannot be set in the host network namespace'],
  ['ipc sysctl without an ipc namespace', (c) => c.linux.namespaces.splice(2, 1), 'config.json: linux.sysctl["kernel.shmmax"]: cannot be set without a private IPC namespace'],
  ['mqueue sysctl without an ipc namespace', (c) => { c.linux.namespaces.splice(2, 1); delete c.linux.sysctl['kernel.shmmax']; }, 'config.json: linux.sysctl["fs.mqueue.msg_max"]: cannot be set without a private IPC namespace'],
  ['kernel.domainname without uts', (c) => { c.linux.namespaces.splice(3, 1); delete c.hostname; delete c.domainname; }, 'config.json: linux.sysctl["kernel.domainname"]: cannot be set without a private UTS namespace'],
  ['kernel.hostname', (c) => (c.linux.sysctl['kernel.hostname'] = 'x'), 'config.json: linux.sysctl["kernel.hostname"]: is not allowed: use the hostname field'],
  ['host-wide sysctl', (c) => (c.linux.sysctl['vm.swappiness'] = '10'), 'config.json: linux.sysctl["vm.swappiness"]: is not in a namespace of the container: setting it would change the host'],
  ['slash-separated host sysctl', (c) => (c.linux.sysctl['kernel/panic'] = '1'), 'config.json: linux.sysctl["kernel/panic"]: is not in a namespace of the container: setting it would change the host'],
  ['sysctl value not a string', (c) => (c.linux.sysctl['net.core.somaxconn'] = 256), 'config.json: linux.sysctl["net.core.somaxconn"]: must be a string, not a number'],
  // mounts
  ['mount destination missing', (c) => delete c.mounts[1].destination, 'config.json: mounts[1].destination: is required'],
  ['mount destination empty', (c) => (c.mounts[0].destination = ''), 'config.json: mounts[0].destination: must not be empty'],
  ['mount uidMappings without gidMappings', (c) => delete c.mounts[2].gidMappings, 'config.json: mounts[2].gidMappings: required with uidMappings'],
  ['idmap without mappings or user namespace', (c) => { delete c.mounts[2].uidMappings; delete c.mounts[2].gidMappings; c.linux.namespaces.splice(5, 1); delete c.linux.uidMappings; delete c.linux.gidMappings; }, 'config.json: mounts[2].options: "idmap" needs uidMappings and gidMappings, or a user namespace'],
  ['mount options not strings', (c) => (c.mounts[1].options = [1]), 'config.json: mounts[1].options[0]: must be a string, not a number'],
  // devices
  ['device type unknown', (c) => (c.linux.devices[0].type = 'x'), 'config.json: linux.devices[0].type: unknown device type "x"'],
  ['device without major', (c) => delete c.linux.devices[0].major, 'config.json: linux.devices[0].major: is required for a "c" device'],
  ['device path relative', (c) => (c.linux.devices[1].path = 'dev/fifo'), 'config.json: linux.devices[1].path: must be an absolute path, not "dev/fifo"'],
  ['device rule access', (c) => (c.linux.resources.devices[1].access = 'rwx'), 'config.json: linux.resources.devices[1].access: must be letters of "rwm"'],
  ['device rule type', (c) => (c.linux.resources.devices[1].type = 'p'), 'config.json: linux.resources.devices[1].type: unknown device rule type "p"'],
  // resources
  ['memory limit not an integer', (c) => (c.linux.resources.memory.limit = 1.5), 'config.json: linux.resources.memory.limit: must be a 64-bit integer'],
  ['memory limit a string', (c) => (c.linux.resources.memory.limit = '1G'), 'config.json: linux.resources.memory.limit: must be a 64-bit integer'],
  ['pids without limit', (c) => (c.linux.resources.pids = {}), 'config.json: linux.resources.pids.limit: is required'],
  ['hugepage size', (c) => (c.linux.resources.hugepageLimits[0].pageSize = '2M'), 'config.json: linux.resources.hugepageLimits[0].pageSize: must be a size such as "2MB" or "1GB"'],
  ['weight device without weights', (c) => (c.linux.resources.blockIO.weightDevice = [{ major: 8, minor: 0 }]), 'config.json: linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight'],
  ['blkio weight out of range', (c) => (c.linux.resources.blockIO.weight = 70000), 'config.json: linux.resources.blockIO.weight: must be an unsigned 16-bit integer'],
  ['rdma without limits', (c) => (c.linux.resources.rdma.mlx5_1 = {}), 'config.json: linux.resources.rdma.mlx5_1: needs hcaHandles or hcaObjects'],
  ['rootfsPropagation', (c) => (c.linux.rootfsPropagation = 'up'), 'config.json: linux.rootfsPropagation: unknown rootfs propagation "up"'],
  ['intelRdt closID', (c) => (c.linux.intelRdt.closID = '../x'), 'config.json: linux.intelRdt.closID: "../x" is not a valid directory name'],
  ['personality domain', (c) => (c.linux.personality.domain = 'BSD'), 'config.json: linux.personality.domain: unknown personality domain "BSD"'],
  ['personality flags', (c) => (c.linux.personality.flags = ['X']), 'config.json: linux.personality.flags: no personality flags are supported'],
  // seccomp
  ['seccomp unknown default action', (c) => (c.linux.seccomp.defaultAction = 'SCMP_ACT_MAYBE'), 'config.json: linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_MAYBE"'],
  ['seccomp notify as default', (c) => (c.linux.seccomp.defaultAction = 'SCMP_ACT_NOTIFY'), 'config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action'],
  ['seccomp unknown rule action', (c) => (c.linux.seccomp.syscalls[1].action = 'ALLOW'), 'config.json: linux.seccomp.syscalls[1].action: unknown seccomp action "ALLOW"'],
  ['seccomp unknown operator', (c) => (c.linux.seccomp.syscalls[1].args[0].op = 'SCMP_CMP_XOR'), 'config.json: linux.seccomp.syscalls[1].args[0].op: unknown seccomp operator "SCMP_CMP_XOR"'],
  ['seccomp arg index', (c) => (c.linux.seccomp.syscalls[1].args[0].index = 6), 'config.json: linux.seccomp.syscalls[1].args[0].index: must be an argument index from 0 to 5'],
  ['seccomp unknown arch', (c) => (c.linux.seccomp.architectures[1] = 'SCMP_ARCH_Z80'), 'config.json: linux.seccomp.architectures[1]: unknown seccomp architecture "SCMP_ARCH_Z80"'],
  ['seccomp unknown flag', (c) => (c.linux.seccomp.flags = ['SECCOMP_FILTER_FLAG_FAST']), 'config.json: linux.seccomp.flags[0]: unknown seccomp flag "SECCOMP_FILTER_FLAG_FAST"'],
  ['seccomp names empty', (c) => (c.linux.seccomp.syscalls[0].names = []), 'config.json: linux.seccomp.syscalls[0].names: must contain at least one element'],
  ['seccomp errnoRet with allow', (c) => (c.linux.seccomp.syscalls[1].errnoRet = 1), 'config.json: linux.seccomp.syscalls[1].errnoRet: is not allowed with SCMP_ACT_ALLOW (only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE)'],
  ['seccomp defaultErrnoRet with allow', (c) => (c.linux.seccomp.defaultErrnoRet = 1), 'config.json: linux.seccomp.defaultErrnoRet: is not allowed with SCMP_ACT_ALLOW (only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE)'],
  ['seccomp notify without listener', (c) => { delete c.linux.seccomp.listenerPath; delete c.linux.seccomp.listenerMetadata; }, 'config.json: linux.seccomp.syscalls[2].action: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath'],
  ['seccomp metadata without listener', (c) => delete c.linux.seccomp.listenerPath, 'config.json: linux.seccomp.listenerMetadata: requires listenerPath'],
  ['seccomp value above uint64', (c) => (c.linux.seccomp.syscalls[1].args[0].value = 2n ** 64n), 'config.json: linux.seccomp.syscalls[1].args[0].value: must be an unsigned 64-bit integer'],
  // hooks and annotations
  ['hook path relative', (c) => (c.hooks.poststop[0].path = 'cleanup.sh'), 'config.json: hooks.poststop[0].path: must be an absolute path, not "cleanup.sh"'],
  ['hook timeout zero', (c) => (c.hooks.poststart[0].timeout = 0), 'config.json: hooks.poststart[0].timeout: must be a number of seconds greater than zero'],
  ['hook list not an array', (c) => (c.hooks.prestart = {}), 'config.json: hooks.prestart: must be an array, not an object'],
  ['annotation value not a string', (c) => (c.annotations['com.example.n'] = 1), 'config.json: annotations["com.example.n"]: must be a string, not a number'],
  ['linux not an object', (c) => (c.linux = []), 'config.json: linux: must be an object, not an array'],
];

for (const [name, change, message] of cases) {
  test(`error: ${name}`, () => assert.equal(errorOf(change), message));
}

test('the document itself must be an object', () => {
  assert.throws(() => validateSpec([1]), { message: 'config.json: must hold a JSON object' });
  assert.throws(() => validateSpec(null, 'other.json'), { message: 'other.json: must hold a JSON object' });
});

test('unknown capabilities are skipped with a warning, known ones made canonical', () => {
  const config = fullConfig() as any;
  config.process.capabilities.bounding = ['CAP_KILL', 'CAP_FLY', 'chown', 'CAP_KILL'];
  const { spec, warnings } = validateSpec(config);
  assert.deepEqual(spec.process?.capabilities?.bounding, ['CAP_KILL', 'CAP_CHOWN']);
  assert.deepEqual(warnings, ['config.json: process.capabilities.bounding: ignoring unknown capability "CAP_FLY"']);
});

test('a relative mount destination is made absolute with a warning', () => {
  const config = fullConfig() as any;
  config.mounts[1].destination = 'dev';
  const { spec, warnings } = validateSpec(config);
  assert.equal(spec.mounts?.[1].destination, '/dev');
  assert.deepEqual(warnings, ['config.json: mounts[1].destination: relative path "dev" is deprecated, using "/dev"']);
});

test('a namespace joined by path satisfies the hostname and sysctl rules, and needs no mappings', () => {
  const config = fullConfig() as any;
  config.linux.namespaces = [
    { type: 'uts', path: '/proc/1/ns/uts' }, { type: 'network', path: '/var/run/netns/a' }, { type: 'ipc' },
    { type: 'mount' }, { type: 'user', path: '/proc/1/ns/user' }, { type: 'time' },
  ];
  delete config.linux.uidMappings;
  delete config.linux.gidMappings;
  assert.doesNotThrow(() => validateSpec(config));
});

test('large uint64 and int64 values survive parsing exactly', () => {
  const text = stringifyJson(fullConfig())
    .replace('"rlimits":[{"type":"RLIMIT_CORE","hard":1024,"soft":1024}', '"rlimits":[{"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":18446744073709551615}')
    .replace('"limit":536870912', '"limit":9223372036854775807')
    .replace('"value":4294967295', '"value":18446744073709551614');
  const { spec } = validateSpec(parseJson(text));
  assert.equal(spec.process?.rlimits?.[0].hard, 18446744073709551615n);
  assert.equal(spec.process?.rlimits?.[0].soft, 18446744073709551615n);
  assert.equal(spec.linux?.resources?.memory?.limit, 9223372036854775807n);
  assert.equal(spec.linux?.seccomp?.syscalls?.[1].args?.[0].value, 18446744073709551614n);
  assert.equal(spec.linux?.resources?.memory?.reservation, 536870912); // small values stay numbers
  assert.equal(spec.linux?.resources?.memory?.kernel, -1);
});

test('an int64 above 2^63-1 is refused where the spec says int64', () => {
  const text = JSON.stringify({ ...fullConfig(), linux: { resources: { memory: { limit: 'X' } } }, mounts: [] })
    .replace('"X"', '9223372036854775808');
  assert.throws(() => validateSpec(parseJson(text)), { message: 'config.json: linux.resources.memory.limit: must be a 64-bit integer' });
});

// ── loadSpec on real files ──────────────────────────────────────────────────

function withBundle(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-spec-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('loadSpec reads and validates <bundle>/config.json', () => {
  withBundle((dir) => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(fullConfig(), (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
    const warnings: string[] = [];
    const spec: Spec = loadSpec(dir, { onWarning: (w) => warnings.push(w) });
    assert.equal(spec.hostname, 'slartibartfast');
    assert.deepEqual(warnings, []);
  });
});

test('loadSpec: a missing config.json names the bundle and the reason', () => {
  withBundle((dir) => {
    assert.throws(() => loadSpec(dir), (err: unknown) => {
      assert.ok(err instanceof BerthError);
      assert.equal(err.kind, 'invalid-argument');
      assert.equal(err.message, `config.json: missing in bundle ${dir} (open ${dir}/config.json: no such file or directory)`);
      return true;
    });
  });
});

test('loadSpec: a config.json that is a directory cannot be read', () => {
  withBundle((dir) => {
    mkdirSync(join(dir, 'config.json'));
    assert.throws(() => loadSpec(dir), { message: `config.json: cannot be read in bundle ${dir} (open ${dir}/config.json: is a directory)` });
  });
});

test('loadSpec: invalid JSON names the line and column', () => {
  withBundle((dir) => {
    writeFileSync(join(dir, 'config.json'), '{\n  "ociVersion": "1.2.0",\n  "root": { "path": "rootfs", }\n}\n');
    assert.throws(() => loadSpec(dir), {
      message: 'config.json: not valid JSON: expected a property name in double quotes, found character "}" at line 3 column 31',
    });
  });
});

test('loadSpec: a field error names the field', () => {
  withBundle((dir) => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.2.0', root: { path: 'rootfs' }, process: { cwd: '/', user: { uid: 0, gid: 0 }, args: [] } }));
    assert.throws(() => loadSpec(dir), { message: 'config.json: process.args: must contain at least one element' });
  });
});

test('the unreadable file case is covered only when not root', { skip: process.getuid?.() === 0 ? 'root reads any file' : false }, () => {
  withBundle((dir) => {
    writeFileSync(join(dir, 'config.json'), '{}');
    chmodSync(join(dir, 'config.json'), 0);
    assert.throws(() => loadSpec(dir), /permission denied/);
  });
});

test('validateProcess checks an exec process file like config.json\'s process', () => {
  const { process: p } = validateProcess({ cwd: '/', args: ['ls'], user: { uid: 0, gid: 0 }, capabilities: { bounding: ['kill'] } });
  assert.deepEqual(p.capabilities?.bounding, ['CAP_KILL']);
  assert.throws(() => validateProcess({ cwd: '/', args: [], user: { uid: 0, gid: 0 } }), { message: 'process.json: process.args: must contain at least one element' });
  assert.throws(() => validateProcess({ cwd: '/', args: ['ls'] }), { message: 'process.json: process.user: is required' });
  assert.throws(() => validateProcess({ cwd: 'tmp', args: ['ls'], user: { uid: 0, gid: 0 } }, 'p.json'), { message: 'p.json: process.cwd: must be an absolute path, not "tmp"' });
});
