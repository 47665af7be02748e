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
import { ensureInitramfs } from '../../src/vm/initramfs.js';
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

/** names and sizes of a newc cpio archive */
function cpioEntries(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let off = 0; off + 110 <= buf.length;) {
    const field = (i: number): number => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const size = field(6), nameSize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    if (name === 'TRAILER!!!') break;
    const dataAt = off + Math.ceil((110 + nameSize) / 4) * 4;
    out.set(name, buf.subarray(dataAt, dataAt + size));
    off = dataAt + Math.ceil(size / 4) * 4;
  }
  return out;
}

/** PT_INTERP among an ELF64's program headers: a dynamically linked program. */
function hasInterpreter(elf: Buffer): boolean {
  const phoff = Number(elf.readBigUInt64LE(0x20)), size = elf.readUInt16LE(0x36), n = elf.readUInt16LE(0x38);
  for (let i = 0; i < n; i++) if (elf.readUInt32LE(phoff + i * size) === 3) return true;
  return false;
}

test('the initramfs: the static guest agent as /init, the machine\'s virtio modules in load order', { skip }, () => {
  const cached = cachedKernel('/var/cache/berth/vm');
  const cache = mkdtempSync(join(tmpdir(), 'berth-vm-initramfs-'));
  try {
    const agent = join(REPO, 'bin', 'berth-vm-agent');
    for (const [machine, transport] of [['microvm', 'virtio_mmio'], ['q35', 'virtio_pci']] as const) {
      const files = cpioEntries(readFileSync(ensureInitramfs(agent, cached?.modules, cache, machine)));
      const init = files.get('init')!;
      assert.deepEqual(init.subarray(0, 4), Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
      assert.equal(hasInterpreter(init), false, 'the agent is linked statically: the initramfs has no libc');
      assert.deepEqual(init, readFileSync(agent));
      if (!cached) continue;
      const order = files.get('modules/order')!.toString().trim().split('\n').map((l) => l.replace(/^\/modules\/|\.ko$/g, ''));
      for (const m of [transport, 'virtio_console', 'virtiofs', 'virtio_net']) assert.ok(order.includes(m), `${machine}: ${m} in ${order.join(' ')}`);
      // dependencies first: virtio (the bus) before any virtio driver
      assert.ok(order.indexOf('virtio') < order.indexOf(transport) && order.indexOf('virtio') < order.indexOf('virtiofs'), order.join(' '));
      for (const m of order) assert.ok(files.has(`modules/${m}.ko`), `${m}.ko carried`);
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

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
