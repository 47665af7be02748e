// The v1 driver on this machine's real hybrid hierarchy (as root): limits the
// kernel accepts and enforces, real processes, freeze/thaw, stats, destroy.
// Every cgroup lives under /berth-it-<pid> in each hierarchy and is removed
// even when a test fails; the last test fails if anything is left.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCgroup, type CgroupManager } from '../../src/runtime/cgroups/manager.js';

const ROOT = '/sys/fs/cgroup';
const TOP = `berth-it-${process.pid}`;
const hybrid = existsSync(join(ROOT, 'memory', 'cgroup.procs')) && !existsSync(join(ROOT, 'cgroup.controllers'));
const skip = process.getuid?.() !== 0 ? 'needs root' : !hybrid ? 'needs a cgroup v1 host' : false;

const children: ChildProcess[] = [];

/** A shell that waits for a line on stdin before running script, so it can be moved into the cgroup first. */
function gated(script: string): { child: ChildProcess; go: () => void; output: () => string; exited: Promise<{ code: number | null; signal: string | null }> } {
  const child = spawn('/bin/sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, go: () => child.stdin?.end('go\n'), output: () => out, exited };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function open(name: string): CgroupManager {
  return openCgroup({ cgroupsPath: `/${TOP}/${name}`, id: name, systemd: false });
}

/** Removes whatever is left under /berth-it-<pid> in every hierarchy. */
function sweep(): string[] {
  const left: string[] = [];
  for (const h of readdirSync(ROOT)) {
    const top = join(ROOT, h, TOP);
    if (!existsSync(top)) continue;
    left.push(top);
    const remove = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) remove(join(d, e.name));
      for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try { process.kill(Number(pid), 9); } catch { /* gone */ }
      }
      try { rmdirSync(d); } catch { /* reported by the caller */ }
    };
    remove(top);
  }
  return left;
}

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  sweep();
});

test('v1: limits are written and read back from the kernel; a process joins; stats; destroy', { skip }, async () => {
  const m = open('limits');
  try {
    m.create();
    m.apply({
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20, swappiness: 0 },
      cpu: { shares: 256, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 20 },
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
        { allow: true, type: 'c', major: 136, access: 'rw' },
      ],
    });
    const read = (ctrl: string, f: string): string => readFileSync(join(m.paths[ctrl] as string, f), 'utf8').trim();
    assert.equal(read('memory', 'memory.limit_in_bytes'), String(64 << 20));
    assert.equal(read('memory', 'memory.memsw.limit_in_bytes'), String(96 << 20));
    assert.equal(read('memory', 'memory.soft_limit_in_bytes'), String(32 << 20));
    assert.equal(read('cpu', 'cpu.shares'), '256');
    assert.equal(read('cpu', 'cpu.cfs_quota_us'), '50000');
    assert.equal(read('cpuset', 'cpuset.cpus'), '0');
    assert.equal(read('pids', 'pids.max'), '20');
    assert.deepEqual(read('devices', 'devices.list').split('\n'), ['c 1:5 rwm', 'c 136:* rw']);
    // shrinking both below the current limit needs the other order; the kernel checks each step
    m.apply({ memory: { limit: 16 << 20, swap: 24 << 20 } });
    assert.equal(read('memory', 'memory.limit_in_bytes'), String(16 << 20));
    m.apply({ memory: { limit: 128 << 20, swap: 256 << 20 } });
    assert.equal(read('memory', 'memory.memsw.limit_in_bytes'), String(256 << 20));

    const p = gated('cat /dev/null && echo null-allowed || echo null-denied; head -c 3 /dev/zero | wc -c; exec sleep 30');
    m.addProcess(p.child.pid as number);
    for (const dir of new Set(Object.values(m.paths))) {
      assert.ok(readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').includes(String(p.child.pid)), `in ${dir}`);
    }
    p.go();
    for (let i = 0; i < 100 && !/\d\n/.test(p.output()); i++) await sleep(20);
    assert.match(p.output(), /null-denied/);
    assert.match(p.output(), /^3$/m);
    await sleep(50);
    assert.deepEqual(m.pids(), [p.child.pid]);
    const s = m.stats();
    assert.equal(s.pids.current, 1);
    assert.equal(s.pids.limit, 20);
    assert.ok(s.memory.usage.usage > 0, 'memory usage');
    assert.equal(s.memory.usage.limit, 128 << 20);
    assert.ok(s.cpu.usage.total > 0, 'cpu usage');
    assert.equal(s.cpu.usage.percpu.length, 2);
    assert.ok(Object.keys(s.memory.raw).length > 10);

    assert.throws(() => m.destroy(), /processes .* are still in it/);
    m.destroy({ killProcesses: true });
    assert.equal(m.exists(), false);
    for (const dir of Object.values(m.paths)) assert.equal(existsSync(dir), false, dir);
    assert.equal((await within(p.exited, 5000, 'killed sleep')).signal, 'SIGKILL');
  } finally {
    m.destroy({ killProcesses: true });
  }
});

test('v1: a frozen process makes no progress until thawed; killAll', { skip }, async () => {
  const m = open('freeze');
  try {
    m.create();
    const p = gated('i=0; while :; do i=$((i+1)); echo $i; done');
    m.addProcess(p.child.pid as number);
    p.go();
    await sleep(100);
    m.freeze();
    assert.equal(m.isFrozen(), true);
    await sleep(50);
    const frozenAt = p.output().length;
    await sleep(300);
    assert.equal(p.output().length, frozenAt, 'no output while frozen');
    m.thaw();
    assert.equal(m.isFrozen(), false);
    await sleep(200);
    assert.ok(p.output().length > frozenAt, 'progress after thaw');
    m.killAll(15);
    assert.equal((await within(p.exited, 5000, 'SIGTERM')).signal, 'SIGTERM');
    m.destroy();
    assert.equal(m.exists(), false);
  } finally {
    m.destroy({ killProcesses: true });
  }
});

test('v1: the pids limit stops forks', { skip }, async () => {
  const m = open('pids');
  try {
    m.create();
    m.apply({ pids: { limit: 4 } });
    // dash gives up at the first failed fork with "Cannot fork"
    const p = gated('for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo started; wait');
    m.addProcess(p.child.pid as number);
    p.go();
    for (let i = 0; i < 200 && !/fork/i.test(p.output()); i++) await sleep(20);
    assert.match(p.output(), /cannot fork|resource temporarily unavailable/i);
    assert.doesNotMatch(p.output(), /started/);
    const n = m.pids().length;
    assert.ok(n >= 2 && n <= 4, `2 to 4 processes: ${m.pids().join(' ')}`);
    assert.ok(m.stats().pids.current <= 4);
    m.killAll(9);
    await within(p.exited, 5000, 'fork test');
  } finally {
    m.destroy({ killProcesses: true });
  }
});

test('v1: a memory hog is OOM-killed at the limit', { skip }, async () => {
  const m = open('oom');
  try {
    m.create();
    m.apply({ memory: { limit: 32 << 20, swap: 32 << 20 } });
    // dd fills a 128 MiB buffer from /dev/zero: every page is touched
    const p = gated('exec dd if=/dev/zero of=/dev/null bs=128M count=1');
    m.addProcess(p.child.pid as number);
    p.go();
    const r = await within(p.exited, 10000, 'hog');
    assert.equal(r.signal, 'SIGKILL', `hog exited ${r.code} ${p.output()}`);
    const oom = readFileSync(join(m.paths.memory as string, 'memory.oom_control'), 'utf8');
    assert.match(oom, /oom_kill [1-9]/);
    assert.equal(m.stats().memory.usage.max, 32 << 20, 'usage reached the limit');
    m.destroy();
  } finally {
    m.destroy({ killProcesses: true });
  }
});

test('v1: nothing is left behind', { skip }, () => {
  for (const name of ['limits', 'freeze', 'pids', 'oom']) open(name).destroy({ killProcesses: true });
  for (const h of readdirSync(ROOT)) {
    const top = join(ROOT, h, TOP);
    if (existsSync(top)) rmdirSync(top);
  }
  assert.deepEqual(sweep(), []);
});
