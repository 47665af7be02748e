// The v2 driver on a real cgroup2 hierarchy (as root): on this hybrid host
// the one mounted at /sys/fs/cgroup/unified, which has no controllers but
// does run device filters. Needs the addon built (npm run build, or
// BERTH_ADDON pointing at a built berth_addon.node).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCgroup, type CgroupManager } from '../../src/runtime/cgroups/manager.js';
import type { LinuxDeviceCgroup } from '../../src/runtime/cgroups/types.js';

const ROOT = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
const TOP = `berth-it2-${process.pid}`;
const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(join(ROOT, 'cgroup.controllers')) ? 'needs a cgroup2 mount' : false;

const children: ChildProcess[] = [];

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
  return openCgroup({ cgroupsPath: `/${TOP}/${name}`, id: name, systemd: false, root: ROOT });
}

function sweep(): boolean {
  const top = join(ROOT, TOP);
  if (!existsSync(top)) return false;
  const remove = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) remove(join(d, e.name));
    for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try { process.kill(Number(pid), 9); } catch { /* gone */ }
    }
    try { rmdirSync(d); } catch { /* reported by the caller */ }
  };
  remove(top);
  return true;
}

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  sweep();
});

test('v2: create, addProcess, freeze stops progress, thaw, killAll, destroy', { skip }, async () => {
  const m = open('life');
  try {
    assert.equal(m.version, 2);
    m.create();
    assert.ok(m.exists());
    const p = gated('i=0; while :; do i=$((i+1)); echo $i; done');
    m.addProcess(p.child.pid as number);
    assert.deepEqual(m.pids(), [p.child.pid]);
    p.go();
    await sleep(100);
    m.freeze();
    assert.equal(m.isFrozen(), true);
    await sleep(50);
    const at = p.output().length;
    await sleep(300);
    assert.equal(p.output().length, at, 'no output while frozen');
    m.thaw();
    await sleep(200);
    assert.equal(m.isFrozen(), false);
    assert.ok(p.output().length > at, 'progress after thaw');
    assert.ok(m.stats().cpu.usage.total > 0, 'cpu.stat is there without controllers');
    m.killAll(9); // cgroup.kill
    assert.equal((await within(p.exited, 5000, 'cgroup.kill')).signal, 'SIGKILL');

    const q = gated('exec sleep 30');
    m.addProcess(q.child.pid as number);
    m.killAll(15); // frozen, signalled one by one, thawed
    assert.equal((await within(q.exited, 5000, 'SIGTERM')).signal, 'SIGTERM');
    assert.equal(m.isFrozen(), false);

    const r = gated('exec sleep 30');
    m.addProcess(r.child.pid as number);
    assert.throws(() => m.destroy(), /still in it/);
    m.destroy({ killProcesses: true });
    assert.equal(m.exists(), false);
    await within(r.exited, 5000, 'destroy kill');
  } finally {
    m.destroy({ killProcesses: true });
  }
});

const base: LinuxDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
];

async function tryNull(m: CgroupManager): Promise<string> {
  const p = gated('cat /dev/null && echo null-allowed || echo null-denied; head -c 2 /dev/zero | wc -c');
  m.addProcess(p.child.pid as number);
  p.go();
  await within(p.exited, 5000, 'device probe');
  return p.output();
}

test('v2: the device filter refuses what the rules deny and allows the rest', { skip }, async () => {
  const m = open('devices');
  try {
    m.create();
    m.apply({ devices: base });
    const denied = await tryNull(m);
    assert.match(denied, /null-denied/);
    assert.match(denied, /Operation not permitted/);
    assert.match(denied, /^2$/m, '/dev/zero stays allowed');
    // a new rule set replaces the old program instead of stacking on it
    m.apply({ devices: [...base, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }] });
    assert.match(await tryNull(m), /null-allowed/);
    // last match wins: a later deny of writes does not stop reads
    m.apply({ devices: [...base, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }] });
    const p = gated('cat /dev/null && echo read-ok; echo x > /dev/null && echo write-ok || echo write-denied');
    m.addProcess(p.child.pid as number);
    p.go();
    await within(p.exited, 5000, 'read/write probe');
    assert.match(p.output(), /read-ok/);
    assert.match(p.output(), /write-denied/);
    m.destroy();
    assert.equal(m.exists(), false);
  } finally {
    m.destroy({ killProcesses: true });
  }
});

test('v2: nothing is left behind', { skip }, () => {
  for (const name of ['life', 'devices']) open(name).destroy({ killProcesses: true });
  const top = join(ROOT, TOP);
  if (existsSync(top)) rmdirSync(top);
  assert.equal(sweep(), false);
});
