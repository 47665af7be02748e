/**
 * berth-runtime's lifecycle on the real kernel: create, start, state, kill,
 * delete, run, exec, ps, pause/resume, events, update, and the errors of bad
 * input. Each test leaves no cgroup, state or process behind.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { Runtime, cgroupsNamed, processesMatching } from '../helpers/runtime.js';

const rt = new Runtime();
const bundles: Bundle[] = [];
const bundle = (args: string[]): Bundle => { const b = makeBundle(args); bundles.push(b); return b; };
let n = 0;
const newId = (): string => `berth-lc-${process.pid}-${++n}`;

after(() => {
  rt.cleanup();
  for (const b of bundles) removeBundle(b);
});

function assertNothingLeft(id: string): void {
  assert.deepEqual(cgroupsNamed(id), [], `cgroups of ${id} left behind`);
  assert.equal(existsSync(join(rt.root, id)), false, `state of ${id} left behind`);
}

test('create leaves a created container; start runs it; kill stops it; delete removes it', async () => {
  const b = bundle(['sh', '-c', 'trap "exit 3" TERM; while true; do sleep 0.1; done']);
  const id = newId();
  const pidFile = join(b.dir, 'init.pid');
  rt.ok(['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
  const st = rt.state(id);
  assert.equal(st.status, 'created');
  assert.equal(Number(readFileSync(pidFile, 'utf8')), st.pid);
  assert.ok(existsSync(`/proc/${st.pid}`));
  assert.ok(cgroupsNamed(id).length > 0, 'a cgroup exists for the container');
  rt.ok(['start', id]);
  assert.equal(rt.state(id).status, 'running');
  const again = rt.run(['start', id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /not created/);
  rt.ok(['kill', id, 'TERM']);
  for (let i = 0; i < 100 && rt.state(id).status !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(rt.state(id).status, 'stopped');
  assert.equal(rt.state(id).pid, 0);
  rt.ok(['delete', id]);
  assertNothingLeft(id);
  const gone = rt.run(['state', id]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, new RegExp(`container ${id} does not exist`));
});

test('run in the foreground returns the exit code and the output', () => {
  const b = bundle(['sh', '-c', 'echo out; echo err >&2; exit 7']);
  const id = newId();
  const r = rt.run(['run', '--bundle', b.dir, id]);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout, 'out\n');
  assert.match(r.stderr, /err/);
  assertNothingLeft(id);
});

test('the container is PID 1 with its own hostname', () => {
  const b = bundle(['sh', '-c', 'echo $$; hostname']);
  const r = rt.run(['run', '--bundle', b.dir, newId()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '1\nberth-test\n');
});

test('list, ps, pause and resume, events --stats, update, exec', async () => {
  const b = bundle(['sh', '-c', 'while true; do sleep 0.1; done']);
  const id = newId();
  rt.ok(['run', '-d', '--bundle', b.dir, id]);
  const list = JSON.parse(rt.ok(['list', '--format', 'json'])) as { id: string; status: string }[];
  assert.ok(list.some((c) => c.id === id && c.status === 'running'));
  assert.match(rt.ok(['list']), new RegExp(`${id}\\s+\\d+\\s+running`));
  const pids = JSON.parse(rt.ok(['ps', '--format', 'json', id])) as number[];
  assert.ok(pids.includes(rt.state(id).pid));
  rt.ok(['pause', id]);
  assert.equal(rt.state(id).status, 'paused');
  rt.ok(['resume', id]);
  assert.equal(rt.state(id).status, 'running');
  const stats = JSON.parse(rt.ok(['events', '--stats', id])) as { type: string; id: string; data: { pids?: { current: number } } };
  assert.equal(stats.type, 'stats');
  assert.ok((stats.data.pids?.current ?? 0) >= 1);
  rt.ok(['update', '--pids-limit', '50', id]);
  const pidsMax = cgroupsNamed(id).find((d) => d.includes('/pids/'));
  if (pidsMax) assert.equal(readFileSync(join(pidsMax, 'pids.max'), 'utf8').trim(), '50');
  const ex = rt.run(['exec', id, 'sh', '-c', 'echo inside $(hostname); exit 4']);
  assert.equal(ex.code, 4, ex.stderr);
  assert.equal(ex.stdout, 'inside berth-test\n');
  const del = rt.run(['delete', id]);
  assert.equal(del.code, 1);
  assert.match(del.stderr, /not stopped/);
  rt.ok(['delete', '--force', id]);
  assertNothingLeft(id);
});

test('bad input gets clear errors and exit 1', () => {
  const b = bundle(['true']);
  const id = newId();
  rt.ok(['create', '--bundle', b.dir, id]);
  const dup = rt.run(['create', '--bundle', b.dir, id]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /already exists/);
  const sig = rt.run(['kill', id, 'SIGFOO']);
  assert.equal(sig.code, 1);
  assert.match(sig.stderr, /unknown signal/);
  rt.ok(['delete', '--force', id]);
  const unknown = rt.run(['kill', 'no-such-container']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /container no-such-container does not exist/);

  const bad = bundle(['true']);
  bad.config.process.args = [];
  bad.write();
  const r1 = rt.run(['create', '--bundle', bad.dir, newId()]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /process\.args/);

  const noRoot = bundle(['true']);
  rmSync(noRoot.rootfs, { recursive: true });
  const r2 = rt.run(['create', '--bundle', noRoot.dir, newId()]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /rootfs .* does not exist/);
});

test('a failure at any step of create leaves nothing behind', () => {
  const cases: [string, (b: Bundle) => void, RegExp][] = [
    ['missing bind source', (b) => { b.config.mounts.push({ destination: '/data', type: 'bind', source: '/nonexistent/berth', options: ['rbind'] }); }, /does not exist/],
    ['executable not found', (b) => { b.config.process.args = ['/no/such/binary']; }, /no such file|not found/i],
    ['failing prestart hook', (b) => { b.config.hooks = { prestart: [{ path: '/bin/false' }] }; }, /prestart hook/],
    ['cwd escaping through a leaked fd', (b) => { b.config.process.cwd = '/proc/self/fd/5'; }, /cwd|unreachable|no such file|not a directory/i],
    ['bad sysctl', (b) => { b.config.linux.sysctl = { 'net.ipv4.no_such_knob': '1' }; }, /sysctl|no such file/],
  ];
  for (const [name, mutate, re] of cases) {
    const b = bundle(['true']);
    mutate(b);
    b.write();
    const id = newId();
    const r = rt.run(['create', '--bundle', b.dir, id]);
    assert.equal(r.code, 1, `${name}: should fail`);
    assert.match(r.stderr, re, `${name}: ${r.stderr}`);
    assertNothingLeft(id);
    assert.deepEqual(processesMatching(b.dir), [], `${name}: processes left`);
  }
});

test('exec --detach writes the pid file and the process joins the container', () => {
  const b = bundle(['sleep', '1000']);
  const id = newId();
  rt.ok(['run', '-d', '--bundle', b.dir, id]);
  const dir = mkdtempSync(join(tmpdir(), 'berth-exec-'));
  try {
    const pidFile = join(dir, 'exec.pid');
    writeFileSync(join(dir, 'process.json'), JSON.stringify({ args: ['sleep', '1000'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } }));
    rt.ok(['exec', '--detach', '--pid-file', pidFile, '--process', join(dir, 'process.json'), id]);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const init = rt.state(id).pid;
    for (const t of ['pid', 'mnt', 'net', 'uts', 'ipc']) {
      assert.equal(readlinkSync(`/proc/${pid}/ns/${t}`), readlinkSync(`/proc/${init}/ns/${t}`), `${t} namespace shared`);
    }
    const pids = JSON.parse(rt.ok(['ps', '--format', 'json', id])) as number[];
    assert.ok(pids.includes(pid), 'exec process is in the container cgroup');
  } finally {
    rt.run(['delete', '--force', id]);
    rmSync(dir, { recursive: true, force: true });
  }
  assertNothingLeft(id);
});

test('cgroup v2: a container on the cgroup2 hierarchy is frozen, joined, filtered and removed through it', async () => {
  const unified = '/sys/fs/cgroup/unified';
  if (!existsSync(`${unified}/cgroup.procs`)) return; // a unified host runs every other test on v2 already
  const b = bundle(['sh', '-c', 'while true; do sleep 0.1; done']);
  b.config.linux.resources = { devices: [{ allow: false, access: 'rwm' }] }; // no controllers here: devices only
  b.config.linux.devices = [];
  b.write();
  const id = newId();
  const env = { ...process.env, BERTH_CGROUP_ROOT: unified };
  const r = rt.run(['run', '-d', '--bundle', b.dir, id], { env });
  assert.equal(r.code, 0, r.stderr);
  const dir = `${unified}/${id}`;
  assert.ok(existsSync(dir), 'the container has a cgroup2 directory');
  assert.ok(readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').includes(String(rt.state(id).pid)));
  rt.ok(['pause', id]);
  assert.equal(rt.state(id).status, 'paused');
  assert.match(readFileSync(`${dir}/cgroup.events`, 'utf8'), /frozen 1/);
  rt.ok(['resume', id]);
  assert.equal(rt.state(id).status, 'running');
  // the device filter (an eBPF program on v2) allows the default devices and refuses the rest
  const ok = rt.run(['exec', id, 'sh', '-c', 'echo x > /dev/null && echo allowed']);
  assert.equal(ok.stdout, 'allowed\n', ok.stderr);
  // with CAP_MKNOD only the device filter decides: /dev/null's numbers are allowed, /dev/mem's are not
  const allowed = rt.run(['exec', '--cap', 'CAP_MKNOD', id, 'sh', '-c', 'mknod /tmp/null2 c 1 3 && echo made']);
  assert.equal(allowed.stdout, 'made\n', allowed.stderr);
  const denied = rt.run(['exec', '--cap', 'CAP_MKNOD', id, 'sh', '-c', 'mknod /tmp/mem c 1 1 && echo made']);
  assert.notEqual(denied.code, 0, 'a device outside the rules is refused');
  assert.match(denied.stderr, /Operation not permitted/);
  rt.ok(['kill', '--all', id, 'KILL']);
  for (let i = 0; i < 100 && rt.state(id).status !== 'stopped'; i++) await new Promise((res) => setTimeout(res, 20));
  rt.ok(['delete', id]);
  assert.equal(existsSync(dir), false, 'the cgroup2 directory is removed');
  assertNothingLeft(id);
});

test('run forwards a SIGTERM sent as soon as the container runs (no window where the front dies alone)', async () => {
  const { spawn } = await import('node:child_process');
  const b = bundle(['sh', '-c', 'trap "exit 3" TERM; echo ready; while :; do sleep 0.05; done']);
  for (let i = 0; i < 10; i++) {
    const id = newId();
    const child = spawn(rt.binary, ['--root', rt.root, 'run', '--bundle', b.dir, id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGTERM');
    // 'exit', not 'close': an orphaned container would hold the pipes open forever
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => resolve(null), 10_000);
      child.on('exit', (c) => { clearTimeout(t); resolve(c); });
    });
    if (code !== 3) rt.run(['delete', '--force', id]);
    assert.equal(code, 3, `round ${i}: the trap's exit code comes back (${err})`);
    assertNothingLeft(id);
  }
  assert.deepEqual(processesMatching(b.dir), []);
});
