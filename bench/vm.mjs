#!/usr/bin/env node
// bench/vm: berth-vm's boot-to-running time (from `create` until the
// container's first output line after `start`) and the memory one VM costs
// on the host (RSS and PSS of qemu + virtiofsd + the keeper), beside
// `runc run` of the same bundle and Kata Containers' published figures.
// Under TCG here (/dev/kvm opens but no guest runs under it: berth-vm's probe
// falls back); KVM where it works.
//   node bench/vm.mjs [rounds=5]
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, openSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(repo, 'bin', 'berth-vm');
const runc = process.env.RUNC ?? '/usr/sbin/runc';
const rounds = Number(process.argv[2] ?? 5);

const dir = mkdtempSync(join(tmpdir(), 'berth-vm-bench-'));
const rootfs = join(dir, 'rootfs');
for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
for (const a of ['sh', 'echo', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', a));
const spec = spawnSync(runc, ['spec', '--bundle', dir]);
if (spec.status !== 0) throw new Error(`runc spec failed: ${spec.stderr}`);
const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
cfg.process.terminal = false;
cfg.process.args = ['sh', '-c', 'echo ready; sleep 600'];
writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
const root = mkdtempSync(join(tmpdir(), 'berth-vm-bench-root-'));
const runcRoot = mkdtempSync(join(tmpdir(), 'runc-vm-bench-root-'));

/** Runs `cmd` until its stdout shows "ready"; ms from spawn, and the child. */
function untilReady(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.stdout.on('data', (d) => {
      if (String(d).includes('ready')) resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, child: p });
    });
    p.on('exit', (code) => reject(new Error(`${cmd} exited ${code} before output: ${err}`)));
  });
}

const kib = (pid, file, key) => {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
};
const pgrep = (pattern) => spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);

function memoryOf(id) {
  const out = {};
  for (const [name, pat] of [['qemu', `qemu-system.*${root}/${id}/`], ['virtiofsd', `virtiofsd.*source=${rootfs}`], ['keeper', `berth-vm-keeper ${root}/${id}/`]]) {
    const pids = pgrep(pat);
    out[name] = {
      rss: pids.reduce((s, p) => s + kib(p, 'status', 'VmRSS'), 0),
      pss: pids.reduce((s, p) => s + kib(p, 'smaps_rollup', 'Pss'), 0),
    };
  }
  return out;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const timed = (fn) => { const t0 = process.hrtime.bigint(); const r = fn(); return [Number(process.hrtime.bigint() - t0) / 1e6, r]; };

const vmMs = [], createMs = [], runcMs = [], mems = [];
let vmKind = { accel: 'tcg', machine: 'microvm' };
try {
  for (let i = 0; i < rounds; i++) {
    const id = `b${i}`;
    // boot-to-running, phase 1: create (qemu boots, the agent mounts the rootfs and waits)
    // `create` hands its stdio to the VM's keeper, so no pipes here (they would stay open)
    const errFile = join(root, 'create.err');
    const errFd = openSync(errFile, 'w');
    const [cms, c] = timed(() => spawnSync(bin, ['--root', root, 'create', '--bundle', dir, id], { stdio: ['ignore', 'ignore', errFd] }));
    closeSync(errFd);
    if (c.status !== 0) throw new Error(`create: ${readFileSync(errFile, 'utf8')}`);
    createMs.push(cms);
    spawnSync(bin, ['--root', root, 'delete', '--force', id]);
    // phase 2, end to end: `run` until the first output line
    const r = await untilReady(bin, ['--root', root, 'run', `r${i}`]);
    vmMs.push(r.ms);
    mems.push(memoryOf(`r${i}`));
    // what the VM got (KVM when /dev/kvm works, microvm where the kernel boots): berth-vm decides, the bench reports
    try { vmKind = JSON.parse(readFileSync(join(root, `r${i}`, 'vm.json'), 'utf8')); } catch { /* gone */ }
    spawnSync(bin, ['--root', root, 'kill', `r${i}`, 'KILL']);
    await new Promise((res) => r.child.on('exit', res));
    spawnSync(bin, ['--root', root, 'delete', '--force', `r${i}`]);
    const rr = await untilReady(runc, ['--root', runcRoot, 'run', `c${i}`]);
    runcMs.push(rr.ms);
    spawnSync(runc, ['--root', runcRoot, 'kill', `c${i}`, 'KILL']);
    await new Promise((res) => rr.child.on('exit', res));
    spawnSync(runc, ['--root', runcRoot, 'delete', '--force', `c${i}`]);
    process.stderr.write(`round ${i + 1}/${rounds}: berth-vm ${r.ms.toFixed(0)} ms, runc ${rr.ms.toFixed(0)} ms\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
  rmSync(runcRoot, { recursive: true, force: true });
}

const mib = (k) => (k / 1024).toFixed(1);
const pick = (k, f) => median(mems.map((m) => m[k][f]));
const total = (f) => median(mems.map((m) => m.qemu[f] + m.virtiofsd[f] + m.keeper[f]));
console.log(`berth-vm (${vmKind.accel.toUpperCase()}, ${vmKind.machine ?? 'microvm'}, 256 MiB guest, 1 vCPU), medians of ${rounds} rounds; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
console.log(`| measure | berth-vm | runc | Kata (published, QEMU on KVM) |`);
console.log(`|---|---|---|---|`);
console.log(`| boot-to-running (run → first output) | ${median(vmMs).toFixed(0)} ms | ${median(runcMs).toFixed(0)} ms | ~700 ms |`);
console.log(`| create alone (VM boot + agent + container created) | ${median(createMs).toFixed(0)} ms | — | — |`);
console.log(`| memory per VM, RSS (qemu + virtiofsd + keeper) | ${mib(total('rss'))} MiB (${mib(pick('qemu', 'rss'))} + ${mib(pick('virtiofsd', 'rss'))} + ${mib(pick('keeper', 'rss'))}) | — | 320 MiB pod overhead |`);
console.log(`| memory per VM, PSS | ${mib(total('pss'))} MiB (${mib(pick('qemu', 'pss'))} + ${mib(pick('virtiofsd', 'pss'))} + ${mib(pick('keeper', 'pss'))}) | — | — |`);
console.log(`ratio berth-vm/runc boot-to-running: ${(median(vmMs) / median(runcMs)).toFixed(1)}x`);
