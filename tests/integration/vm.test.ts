/**
 * berth-vm on the real machine: a busybox bundle run in a qemu microvm (TCG
 * here), checked from inside (the guest's kernel, its own /proc, kernel-facing
 * calls that stay in the guest) and from outside (exit codes, the
 * create/start/kill/delete cycle, nothing left after delete). Skips with the
 * reason when qemu, the guest kernel or the build is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { hostname, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBundle, removeBundle } from '../helpers/bundle.js';
import { REPO, isRoot } from '../helpers/runtime.js';
import { cachedKernel } from '../../src/vm/config.js';
import { renderVmHeader } from '../../src/vm/header.js';
import { socketDir } from '../../src/vm/qemu.js';

const BIN = join(REPO, 'bin', 'berth-vm');
const QEMU = '/usr/bin/qemu-system-x86_64';
const kernel = process.env.BERTH_VM_KERNEL ?? cachedKernel('/var/cache/berth/vm')?.kernel;
const skip = !isRoot ? 'needs root'
  : !existsSync(QEMU) ? 'needs qemu-system-x86 (apt-get install qemu-system-x86)'
  : !kernel ? 'needs the guest kernel (scripts/vm-kernel.sh)'
  : !existsSync(BIN) || !existsSync(join(REPO, 'bin', 'berth-vm-agent')) ? 'needs npm run build'
  : false;

interface Result { code: number; stdout: string; stderr: string }

/**
 * Runs berth-vm with its output in files: `create` hands its stdio to the
 * VM's keeper (like runc to the container), so pipes would stay open.
 */
function vm(root: string, args: string[], cwd?: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vm-out-'));
  const out = openSync(join(dir, 'out'), 'w'), err = openSync(join(dir, 'err'), 'w');
  return new Promise((resolve) => {
    const p = spawn(BIN, ['--root', root, ...args], { cwd, stdio: ['ignore', out, err] });
    p.on('exit', (code) => {
      closeSync(out);
      closeSync(err);
      const r = { code: code ?? -1, stdout: readFileSync(join(dir, 'out'), 'utf8'), stderr: readFileSync(join(dir, 'err'), 'utf8') };
      rmSync(dir, { recursive: true, force: true });
      resolve(r);
    });
  });
}

/** Host processes, cgroups and files that name the container. */
function leftovers(root: string, id: string): string[] {
  const procs = spawnSync('pgrep', ['-af', join(root, id)], { encoding: 'utf8' }).stdout.trim();
  const cgroups = spawnSync('find', ['/sys/fs/cgroup', '-maxdepth', '3', '-type', 'd', '-name', id], { encoding: 'utf8' }).stdout.trim();
  const files = existsSync(join(root, id)) ? readdirSync(join(root, id)).join(' ') : existsSync(socketDir(join(root, id))) ? socketDir(join(root, id)) : '';
  return [procs && `processes: ${procs}`, cgroups && `cgroups: ${cgroups}`, files && `files: ${files}`].filter(Boolean);
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'berth-vm-it-'));
  try {
    await fn(root);
  } finally {
    for (const id of existsSync(root) ? readdirSync(root) : []) await vm(root, ['delete', '--force', id]);
    rmSync(root, { recursive: true, force: true });
  }
}

test('protocol.h is rendered from src/vm/protocol.ts', () => {
  assert.equal(readFileSync(join(REPO, 'native', 'vm-agent', 'protocol.h'), 'utf8'), renderVmHeader());
});

test('run: output, exit code, and a guest of its own (kernel, /proc, hostname, mounts)', { skip, timeout: 120_000 }, () => withRoot(async (root) => {
  const script = [
    'echo kernel=$(uname -r)',
    'echo init=$(cat /proc/1/comm)',
    'echo nodes=$(cat /proc/[0-9]*/comm | grep -c -x node)',
    'echo guest-only > /proc/sys/kernel/hostname && echo hostname=$(hostname)',
    'mount -t tmpfs guest-tmpfs /tmp && echo mounted=$(grep -c guest-tmpfs /proc/mounts)',
    'echo to-stderr >&2',
    'exit 7',
  ].join('; ');
  const b = makeBundle(['sh', '-c', script], 'berth-vm-bundle-');
  try {
    const hostMountsBefore = readFileSync('/proc/mounts', 'utf8');
    const r = await vm(root, ['run', 'vm-run'], b.dir);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /to-stderr/);
    const out = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
    assert.ok(out.kernel, r.stdout);
    assert.notEqual(out.kernel, release(), 'the guest runs its own kernel');
    // the guest's /proc: its pid 1 is the agent, and none of the host's node processes (this test is one) appear
    assert.equal(out.init, 'init');
    assert.equal(out.nodes, '0', 'no host process is visible in the guest');
    assert.notEqual(readFileSync('/proc/1/comm', 'utf8').trim(), 'init');
    assert.equal(out.hostname, 'guest-only');
    assert.notEqual(hostname(), 'guest-only', 'the host name is untouched');
    assert.equal(out.mounted, '1');
    assert.ok(!readFileSync('/proc/mounts', 'utf8').includes('guest-tmpfs'), 'the guest mount is not on the host');
    // nothing of this container stays mounted on the host (other processes' mounts may come and go meanwhile)
    const before = new Set(hostMountsBefore.split('\n'));
    const added = readFileSync('/proc/mounts', 'utf8').split('\n').filter((m) => !before.has(m));
    assert.deepEqual(added.filter((m) => m.includes(b.dir) || m.includes(root) || m.includes('vm-run')), []);
    assert.deepEqual(leftovers(root, 'vm-run'), []);
  } finally {
    removeBundle(b);
  }
}));

test('create, state, start, kill, delete: statuses, signal to the guest process, nothing left', { skip, timeout: 120_000 }, () => withRoot(async (root) => {
  const b = makeBundle(['sleep', '300'], 'berth-vm-bundle-');
  try {
    const id = 'vm-cycle';
    const pidFile = join(b.dir, 'pid');
    const c = await vm(root, ['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
    assert.equal(c.code, 0, c.stderr);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    let st = JSON.parse((await vm(root, ['state', id])).stdout) as { status: string; pid: number; annotations: Record<string, string> };
    assert.equal(st.status, 'created');
    assert.equal(st.pid, pid);
    assert.ok(Number(st.annotations['berth.vm.qemu-pid']) > 0);
    assert.equal(spawnSync('pgrep', ['-f', join(root, id)]).status, 0, 'qemu runs');
    assert.equal((await vm(root, ['start', id])).code, 0);
    st = JSON.parse((await vm(root, ['state', id])).stdout);
    assert.equal(st.status, 'running');
    const d = await vm(root, ['delete', id]);
    assert.notEqual(d.code, 0, 'a running container is not deleted without --force');
    assert.match(d.stderr, /not stopped: running/);
    assert.equal((await vm(root, ['kill', id, 'TERM'])).code, 0);
    for (let i = 0; i < 100 && st.status !== 'stopped'; i++) {
      await sleep(100);
      st = JSON.parse((await vm(root, ['state', id])).stdout);
    }
    assert.equal(st.status, 'stopped');
    assert.equal((await vm(root, ['delete', id])).code, 0);
    assert.deepEqual(leftovers(root, id), []);
    assert.equal((await vm(root, ['state', id])).code === 0, false);
  } finally {
    removeBundle(b);
  }
}));
