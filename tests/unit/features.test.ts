// `berth-runtime features`: the runtime-spec features document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { nullLogger } from '../../src/common/log.js';
import type { CommandContext, Front } from '../../src/runtime/commands/context.js';

/** spec and features never start processes: any use of the front is a bug. */
const refuse = async (): Promise<never> => assert.fail('the command used the front');
const noFront: Front = { execute: refuse, resume: refuse, abortChild: refuse, waitChild: refuse };
import { run as featuresCommand } from '../../src/runtime/commands/features.js';
import { validateSpec } from '../../src/runtime/spec/validate.js';

const RUNC = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc'].find((p) => existsSync(p)) ?? 'runc';

async function featuresJson(): Promise<any> {
  const out: string[] = [];
  const ctx: CommandContext = {
    globals: { root: '/run/berth-test', log: undefined, logFormat: 'text', debug: false, systemdCgroup: false },
    cwd: '/',
    stdout: { write: (d) => out.push(String(d)) },
    stderr: { write: () => {} },
    readStdin: async () => Buffer.alloc(0),
    stdinIsTty: false,
    log: nullLogger,
    program: 'berth-runtime',
    signal: new AbortController().signal,
    front: noFront,
    callerPid: process.pid,
    callerEnv: {},
  };
  assert.equal(await featuresCommand(ctx, {}), 0);
  const text = out.join('');
  assert.match(text, /^{\n {4}"ociVersionMin": "1\.0\.0",\n {4}"ociVersionMax": "1\.2\.0",/);
  assert.ok(text.endsWith('}\n'));
  return JSON.parse(text);
}

test('features declares versions, cgroup support and extensions as Berth implements them', async () => {
  const f = await featuresJson();
  assert.deepEqual(f.linux.cgroup, { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false });
  assert.deepEqual(f.linux.intelRdt, { enabled: false });
  assert.deepEqual(f.linux.mountExtensions, { idmap: { enabled: true } });
  assert.equal(f.linux.seccomp.enabled, true);
  assert.ok(f.linux.namespaces.includes('time'));
  assert.equal(f.linux.capabilities.length, 41);
  for (const flag of f.linux.seccomp.supportedFlags) assert.ok(f.linux.seccomp.knownFlags.includes(flag), flag);
  assert.ok(f.mountOptions.includes('idmap') && f.mountOptions.includes('ridmap'));
});

test('features recognizes at least everything runc 1.1 recognizes', async () => {
  const theirs = JSON.parse(execFileSync(RUNC, ['features'], { encoding: 'utf8' }));
  const ours = await featuresJson();
  assert.deepEqual(ours.hooks, theirs.hooks);
  assert.deepEqual(ours.linux.capabilities, theirs.linux.capabilities);
  const superset = (mine: string[], runc: string[], what: string): void => {
    for (const x of runc) assert.ok(mine.includes(x), `${what}: ${x}`);
  };
  superset(ours.mountOptions, theirs.mountOptions, 'mountOptions');
  superset(ours.linux.namespaces, theirs.linux.namespaces, 'namespaces');
  superset(ours.linux.seccomp.actions, theirs.linux.seccomp.actions, 'actions');
  superset(ours.linux.seccomp.operators, theirs.linux.seccomp.operators, 'operators');
  superset(ours.linux.seccomp.archs, theirs.linux.seccomp.archs, 'archs');
});

test('every name features lists is accepted by the validator', async () => {
  const f = await featuresJson();
  const spec = {
    ociVersion: f.ociVersionMax,
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 }, capabilities: { bounding: f.linux.capabilities } },
    mounts: [{ destination: '/x', type: 'none', source: '/x', options: f.mountOptions.filter((o: string) => !o.includes('idmap')) }],
    hooks: Object.fromEntries(f.hooks.map((h: string) => [h, [{ path: '/bin/true' }]])),
    linux: {
      namespaces: f.linux.namespaces.map((type: string) => ({ type })),
      uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      seccomp: {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: f.linux.seccomp.archs,
        flags: f.linux.seccomp.knownFlags,
        listenerPath: '/run/agent.sock',
        syscalls: f.linux.seccomp.actions.map((action: string) => ({
          names: ['getpid'], action, args: f.linux.seccomp.operators.map((op: string) => ({ index: 0, value: 1, op })),
        })),
      },
    },
  };
  const { warnings } = validateSpec(spec);
  assert.deepEqual(warnings, []);
});
