/**
 * berth-vm's limits and machines on the real machine: a memory limit and a
 * cpu quota size the VM (the guest's MemTotal and processor count) and bound
 * it from the host cgroup that holds qemu, virtiofsd and the keeper; a
 * kernel that is to boot on q35 does, with its virtio devices on a PCI bus
 * (microvm has none). `update` changes the host bounds and refuses to
 * change the guest's RAM. Nothing is left after delete. Skips with the reason
 * when qemu, the guest kernel or the build is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { REPO, isRoot } from '../helpers/runtime.js';
import { cachedKernel } from '../../src/vm/config.js';

const BIN = join(REPO, 'bin', 'berth-vm');
const kernel = process.env.BERTH_VM_KERNEL ?? cachedKernel('/var/cache/berth/vm')?.kernel;
const skip = !isRoot ? 'needs root'
  : !existsSync('/usr/bin/qemu-system-x86_64') ? 'needs qemu-system-x86'
  : !kernel ? 'needs the guest kernel (scripts/vm-kernel.sh)'
  : !existsSync(BIN) || !existsSync(join(REPO, 'bin', 'berth-vm-keeper')) ? 'needs npm run build'
  : false;
const MIB = 1024 * 1024;
/** the VM's own share of the host cgroup's memory limit (config.ts's default memoryOverheadMiB) */
const OVERHEAD_MIB = 192;

/** berth-vm with its stdio in files: `create` hands them to the keeper, which writes the container's output there. */
function vm(root: string, args: string[], out: string, env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const o = openSync(out, 'a'), e = openSync(`${out}.err`, 'a');
  return new Promise((resolve) => {
    const p = spawn(BIN, ['--root', root, ...args], { stdio: ['ignore', o, e], env: { ...process.env, ...env } });
    p.on('exit', (code) => {
      closeSync(o);
      closeSync(e);
      resolve({ code: code ?? -1, stderr: readFileSync(`${out}.err`, 'utf8') });
    });
  });
}

async function waitFor(file: string, re: RegExp, ms: number): Promise<string> {
  let text = '';
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) {
    text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (re.test(text)) return text;
  }
  throw new Error(`no ${re} in ${file} within ${ms} ms: ${text}`);
}

/** controller → cgroup path of a host process (v1 lines "n:controllers:/path"; v2 "0::/path" under "unified") */
function cgroupsOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, ctrls, path] = line.split(':');
    for (const c of (ctrls || 'unified').split(',')) out.set(c, path!);
  }
  return out;
}

const liveOf = (needle: string): string => spawnSync('pgrep', ['-af', needle], { encoding: 'utf8' }).stdout.trim();

async function withVm(fn: (root: string, b: Bundle, out: string) => Promise<void>, args: string[]): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'berth-vm-lim-'));
  const b = makeBundle(args, 'berth-vm-lim-bundle-');
  for (const a of ['nproc', 'stty']) symlinkSync('busybox', join(b.rootfs, 'bin', a));
  try {
    await fn(root, b, join(b.dir, 'out'));
  } finally {
    for (const id of existsSync(root) ? readdirSync(root) : []) await vm(root, ['delete', '--force', id], join(b.dir, 'cleanup'));
    removeBundle(b);
    rmSync(root, { recursive: true, force: true });
  }
}

const REPORT = 'echo kernel=$(uname -r); echo mem=$(awk \'/^MemTotal/{print $2}\' /proc/meminfo); echo cpus=$(nproc); echo pci=$(ls /sys/bus/pci/devices | wc -l)';

test('memory and cpus size the VM; the host cgroup holds qemu with the VM bounded', { skip, timeout: 180_000 }, () => withVm(async (root, b, out) => {
  const id = 'vm-limits';
  b.config.linux.resources = { ...b.config.linux.resources, memory: { limit: 512 * MIB }, cpu: { quota: 200000, period: 100000, shares: 512 } };
  b.config.process.args = ['sh', '-c', `${REPORT}; sleep 300`];
  b.write();
  const c = await vm(root, ['create', '--bundle', b.dir, id], out);
  assert.equal(c.code, 0, c.stderr);
  assert.equal((await vm(root, ['start', id], join(b.dir, 'start'))).code, 0);
  const text = await waitFor(out, /pci=\d+/, 60_000);
  const got = Object.fromEntries(text.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
  // 512 MiB of guest RAM, less what the guest kernel keeps: far above the 256 MiB default
  assert.ok(Number(got.mem) > 400 * 1024 && Number(got.mem) <= 512 * 1024, `guest MemTotal ${got.mem} kB`);
  assert.equal(got.cpus, '2', 'a quota of two cpus is two vCPUs');
  assert.equal(got.pci, '0', 'microvm: no PCI bus');
  assert.notEqual(got.kernel, release());

  const st = JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')) as { cgroup: { paths: Record<string, string> } };
  const qemu = Number(JSON.parse(readFileSync(join(root, id, 'vm.json'), 'utf8')).qemu.pid);
  assert.ok(qemu > 0);
  const cg = cgroupsOf(qemu);
  const paths = st.cgroup.paths;
  if (paths.memory) {
    // cgroup v1 (hybrid): qemu sits in the container's memory and cpu cgroups, which bound it
    assert.ok(paths.memory.endsWith(cg.get('memory')!), `qemu's memory cgroup ${cg.get('memory')} is the container's ${paths.memory}`);
    assert.ok(paths.cpu!.endsWith(cg.get('cpu')!), `qemu's cpu cgroup ${cg.get('cpu')} is the container's ${paths.cpu}`);
    assert.equal(Number(readFileSync(join(paths.memory, 'memory.limit_in_bytes'), 'utf8')), (512 + OVERHEAD_MIB) * MIB);
    assert.equal(readFileSync(join(paths.cpu!, 'cpu.cfs_quota_us'), 'utf8').trim(), '200000');
    assert.equal(readFileSync(join(paths.cpu!, 'cpu.shares'), 'utf8').trim(), '512');
    const procs = readFileSync(join(paths.memory, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number);
    const keeper = Number(JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')).pid);
    assert.ok(procs.includes(qemu) && procs.includes(keeper), `qemu ${qemu} and the keeper ${keeper} in the cgroup: ${procs.join(' ')}`);
  } else {
    const dir = paths[''] ?? Object.values(paths)[0]!;
    assert.ok(dir.endsWith(cg.get('unified')!));
    assert.equal(Number(readFileSync(join(dir, 'memory.max'), 'utf8')), (512 + OVERHEAD_MIB) * MIB);
    assert.equal(readFileSync(join(dir, 'cpu.max'), 'utf8').trim(), '200000 100000');
  }
  if (paths.cpu) {
    // update: the host bounds change at once, the guest's RAM does not
    assert.equal((await vm(root, ['update', '--cpu-quota', '100000', id], join(b.dir, 'update'))).code, 0);
    assert.equal(readFileSync(join(paths.cpu, 'cpu.cfs_quota_us'), 'utf8').trim(), '100000');
    writeFileSync(join(b.dir, 'res.json'), JSON.stringify({ cpu: { shares: 256 }, memory: { limit: 512 * MIB } }));
    assert.equal((await vm(root, ['update', '--resources', join(b.dir, 'res.json'), id], join(b.dir, 'update'))).code, 0);
    assert.equal(readFileSync(join(paths.cpu, 'cpu.shares'), 'utf8').trim(), '256');
    const grow = await vm(root, ['update', '--memory', '1g', id], join(b.dir, 'update-mem'));
    assert.notEqual(grow.code, 0);
    assert.match(grow.stderr, /cannot update container vm-limits: its vm has 512 MiB of guest memory, fixed at create \(asked for 1024 MiB\)/);
    assert.equal(Number(readFileSync(join(paths.memory!, 'memory.limit_in_bytes'), 'utf8')), (512 + OVERHEAD_MIB) * MIB);
  }
  assert.equal((await vm(root, ['delete', '--force', id], join(b.dir, 'delete'))).code, 0);
  assert.equal(liveOf(join(root, id)), '', 'no qemu, virtiofsd or keeper left');
  for (const p of Object.values(paths)) assert.ok(!existsSync(p), `cgroup ${p} removed`);
}, ['true']));

test('machine q35: the kernel boots there with virtio over PCI; output and exit code as on microvm', { skip, timeout: 240_000 }, () => withVm(async (root, b, out) => {
  b.config.process.args = ['sh', '-c', `${REPORT}; exit 5`];
  b.write();
  // q35 boots through SeaBIOS: slower under TCG than microvm
  const r = await vm(root, ['run', '--bundle', b.dir, 'vm-q35'], out, { BERTH_VM_MACHINE: 'q35', BERTH_VM_BOOT_TIMEOUT_MS: '150000' });
  assert.equal(r.code, 5, `${r.stderr}\n${readFileSync(out, 'utf8')}`);
  const got = Object.fromEntries(readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
  assert.ok(Number(got.pci) > 0, `q35's PCI devices in the guest: ${got.pci}`);
  assert.notEqual(got.kernel, release());
  assert.equal(got.cpus, '1');
  assert.equal(liveOf(join(root, 'vm-q35')), '', 'no qemu, virtiofsd or keeper left');
  assert.ok(!existsSync(join(root, 'vm-q35')), 'no state left');
}, ['true']));
