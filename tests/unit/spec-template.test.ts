// `berth-runtime spec` against `runc spec`: same keys and values except
// what template.ts documents (ociVersion, hostname, cgroup namespace,
// no ambient capabilities).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/common/errors.js';
import { nullLogger } from '../../src/common/log.js';
import type { CommandContext, Front } from '../../src/runtime/commands/context.js';

/** spec and features never start processes: any use of the front is a bug. */
const refuse = async (): Promise<never> => assert.fail('the command used the front');
const noFront: Front = { execute: refuse, resume: refuse, abortChild: refuse, waitChild: refuse };
import { run as specCommand } from '../../src/runtime/commands/spec.js';
import { loadSpec } from '../../src/runtime/spec/load.js';
import { OCI_VERSION, specTemplate } from '../../src/common/oci-template.js';

const RUNC = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc'].find((p) => existsSync(p)) ?? 'runc';

function context(cwd: string): CommandContext & { out: string[] } {
  const out: string[] = [];
  return {
    out,
    globals: { root: '/run/berth-test', log: undefined, logFormat: 'text', debug: false, systemdCgroup: false },
    cwd,
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
}

function withDirs(fn: (ours: string, theirs: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const ours = mkdtempSync(join(tmpdir(), 'berth-spec-ours-'));
    const theirs = mkdtempSync(join(tmpdir(), 'berth-spec-runc-'));
    try {
      await fn(ours, theirs);
    } finally {
      rmSync(ours, { recursive: true, force: true });
      rmSync(theirs, { recursive: true, force: true });
    }
  };
}

const readJson = (dir: string): any => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));

/** runc's config with the differences template.ts documents applied. */
function runcAsBerthWrites(runc: any): any {
  runc.ociVersion = OCI_VERSION;
  runc.hostname = 'berth';
  delete runc.process.capabilities.ambient;
  if (!runc.linux.namespaces.some((n: { type: string }) => n.type === 'cgroup')) {
    const user = runc.linux.namespaces.findIndex((n: { type: string }) => n.type === 'user');
    // runc appends cgroup after mount (before user in the rootless form)
    runc.linux.namespaces.splice(user < 0 ? runc.linux.namespaces.length : user, 0, { type: 'cgroup' });
  }
  return runc;
}

test('spec writes what runc spec writes, except the documented differences', withDirs(async (ours, theirs) => {
  execFileSync(RUNC, ['spec'], { cwd: theirs });
  assert.equal(await specCommand(context(ours), {}), 0);
  const text = readFileSync(join(ours, 'config.json'), 'utf8');
  assert.match(text, /^{\n\t"ociVersion": "1\.2\.0",\n\t"process": {/, 'tab-indented like runc');
  assert.deepEqual(readJson(ours), runcAsBerthWrites(readJson(theirs)));
  // and the same property order, so the two files read alike
  assert.deepEqual(Object.keys(readJson(ours)), Object.keys(readJson(theirs)));
}));

test('spec --rootless writes what runc spec --rootless writes, for the same uid and gid', withDirs(async (ours, theirs) => {
  execFileSync(RUNC, ['spec', '--rootless'], { cwd: theirs });
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  assert.equal(await specCommand(context('/'), { bundle: ours, rootless: true, uid, gid }), 0);
  const mine = readJson(ours);
  assert.deepEqual(mine, runcAsBerthWrites(readJson(theirs)));
  assert.deepEqual(mine.linux.uidMappings, [{ containerID: 0, hostID: uid, size: 1 }]);
  assert.equal(mine.linux.namespaces.some((n: { type: string }) => n.type === 'network'), false);
  assert.equal(mine.linux.resources, undefined);
}));

test('spec --rootless maps the calling process\'s effective uid and gid by default', withDirs(async (ours) => {
  // as root, a caller with other ids makes the test able to fail
  const asRoot = process.geteuid?.() === 0;
  const caller = asRoot ? spawn('sleep', ['30'], { uid: 65534, gid: 65533, stdio: 'ignore' }) : undefined;
  try {
    const ctx = context(ours);
    ctx.callerPid = caller?.pid ?? process.pid;
    assert.equal(await specCommand(ctx, { rootless: true }), 0);
    const mine = readJson(ours);
    assert.deepEqual(mine.linux.uidMappings, [{ containerID: 0, hostID: asRoot ? 65534 : process.geteuid?.(), size: 1 }]);
    assert.deepEqual(mine.linux.gidMappings, [{ containerID: 0, hostID: asRoot ? 65533 : process.getegid?.(), size: 1 }]);
  } finally {
    caller?.kill('SIGKILL');
  }
}));

test('a relative --bundle is resolved against the caller\'s directory', withDirs(async (ours) => {
  execFileSync('mkdir', [join(ours, 'b')]);
  assert.equal(await specCommand(context(ours), { bundle: 'b' }), 0);
  assert.ok(existsSync(join(ours, 'b', 'config.json')));
}));

test('spec refuses to overwrite an existing config.json, with runc\'s message', withDirs(async (ours) => {
  writeFileSync(join(ours, 'config.json'), 'keep me');
  await assert.rejects(specCommand(context(ours), {}), (err: unknown) => {
    assert.ok(err instanceof BerthError);
    assert.equal(err.message, 'File config.json exists. Remove it first');
    return true;
  });
  assert.equal(readFileSync(join(ours, 'config.json'), 'utf8'), 'keep me');
}));

test('spec into a missing directory fails naming the file', withDirs(async (ours) => {
  await assert.rejects(specCommand(context(ours), { bundle: 'nope' }), {
    message: `cannot write ${ours}/nope/config.json: no such file or directory`,
  });
}));

test('the written configs pass validation with no warnings', withDirs(async (ours, theirs) => {
  await specCommand(context(ours), {});
  await specCommand(context(theirs), { rootless: true, uid: 1000, gid: 1000 });
  for (const dir of [ours, theirs]) {
    const warnings: string[] = [];
    loadSpec(dir, { onWarning: (w) => warnings.push(w) });
    assert.deepEqual(warnings, []);
  }
}));

test('each template is a fresh object', () => {
  const a = specTemplate();
  a.process!.args!.push('x');
  a.mounts![0].destination = '/elsewhere';
  const b = specTemplate();
  assert.deepEqual(b.process?.args, ['sh']);
  assert.equal(b.mounts?.[0].destination, '/proc');
});
