/**
 * berth-runtime's command line as dockerd, containerd and people call it:
 * --version, --log/--log-format json, --systemd-cgroup, kill (--all, signal
 * forms), delete of a created container, ps, list -q, events --interval,
 * spec then run, features, usage errors, --no-pivot, --preserve-fds, exec -t
 * with a console socket. BERTH_TEST_RUNTIME=/usr/sbin/runc checks the same
 * expectations against runc (only berth must pass). Every test removes what
 * it made and checks nothing is left.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { consoleReceiver } from '../helpers/console.js';
import { Runtime, RUNTIME, cgroupsNamed, processesMatching, type Result } from '../helpers/runtime.js';

const BINARY = process.env.BERTH_TEST_RUNTIME || RUNTIME;
const IS_BERTH = BINARY === RUNTIME;
const rt = new Runtime(BINARY);
const bundles: Bundle[] = [];
const temps: string[] = [];
let n = 0;
const newId = (): string => `berth-cli-${process.pid}-${++n}`;

after(() => {
  rt.cleanup();
  for (const b of bundles) removeBundle(b);
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function bundle(args: string[]): Bundle {
  const b = makeBundle(args, 'berth-cli-');
  bundles.push(b);
  return b;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-cli-tmp-'));
  temps.push(d);
  return d;
}

function assertNothingLeft(id: string, b?: Bundle): void {
  assert.deepEqual(cgroupsNamed(id), [], `cgroups of ${id} left behind`);
  assert.equal(existsSync(join(rt.root, id)), false, `state of ${id} left behind`);
  if (b) assert.deepEqual(processesMatching(b.dir), [], `processes of ${id} left behind`);
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitStopped(id: string): Promise<void> {
  await waitFor(() => rt.state(id).status === 'stopped');
}

/** A running container whose init loops; returns its id. */
function runDetached(b: Bundle): string {
  const id = newId();
  rt.ok(['run', '-d', '--bundle', b.dir, id]);
  return id;
}

// ---------------------------------------------------------------- global options

test('--version names the runtime and the spec version', () => {
  const r = rt.run(['--version']);
  assert.equal(r.code, 0, r.stderr);
  if (IS_BERTH) assert.match(r.stdout, /^berth-runtime version \S+/m);
  assert.match(r.stdout, /^spec: 1\.\d+\.\d+/m);
});

test('--log FILE --log-format json: JSON lines with level, msg and time, and the error of a failed create', () => {
  const b = bundle(['true']);
  rmSync(b.rootfs, { recursive: true });
  const log = join(tempDir(), 'runtime.log');
  const id = newId();
  const r = rt.run(['--log', log, '--log-format', 'json', 'create', '--bundle', b.dir, id]);
  assert.equal(r.code, 1);
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; time: string });
  assert.ok(lines.length >= 1);
  for (const l of lines) {
    assert.equal(typeof l.level, 'string');
    assert.equal(typeof l.msg, 'string');
    assert.ok(!Number.isNaN(Date.parse(l.time)), `time: ${l.time}`);
  }
  // containerd reports the msg of the last error line
  const last = lines.filter((l) => l.level === 'error').pop();
  assert.ok(last, 'an error line');
  assert.match(last!.msg, /rootfs|no such file or directory/i);
  assertNothingLeft(id, b);
});

test('--systemd-cgroup: create fails with a clear message', (t) => {
  if (!IS_BERTH) { t.skip('runc supports the systemd driver'); return; }
  const b = bundle(['true']);
  const id = newId();
  const r = rt.run(['--systemd-cgroup', 'create', '--bundle', b.dir, id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /systemd cgroup driver is not supported/);
  assertNothingLeft(id, b);
});

// ---------------------------------------------------------------- kill, delete, ps, list, events

test('kill --all signals every process of the container', async () => {
  const b = bundle(['sh', '-c', 'sleep 1000 & sleep 1000 & while true; do sleep 0.1; done']);
  const id = runDetached(b);
  try {
    await waitFor(() => (JSON.parse(rt.ok(['ps', '--format', 'json', id])) as number[]).length >= 3);
    const pids = JSON.parse(rt.ok(['ps', '--format', 'json', id])) as number[];
    rt.ok(['kill', '--all', id, 'KILL']);
    await waitStopped(id);
    await waitFor(() => pids.every((p) => !existsSync(`/proc/${p}`)));
    rt.ok(['delete', id]);
  } finally {
    rt.run(['delete', '--force', id]);
  }
  assertNothingLeft(id, b);
});

test('kill takes signals by number and by name, with or without SIG, real-time too', async () => {
  // pid 1 ignores signals it has no handler for, so these leave it running
  const b = bundle(['sleep', '1000']);
  const id = runDetached(b);
  try {
    for (const sig of ['SIGRTMIN+1', 'RTMIN+2', 'USR1', 'SIGUSR2', '10', '34']) {
      const r = rt.run(['kill', id, sig]);
      assert.equal(r.code, 0, `kill ${sig}: ${r.stderr}`);
    }
    assert.equal(rt.state(id).status, 'running');
  } finally {
    rt.run(['delete', '--force', id]);
  }
  assertNothingLeft(id, b);
  for (const sig of ['9', 'KILL', 'SIGKILL']) {
    const id2 = runDetached(b);
    try {
      const r = rt.run(['kill', id2, sig]);
      assert.equal(r.code, 0, `kill ${sig}: ${r.stderr}`);
      await waitStopped(id2);
      rt.ok(['delete', id2]);
    } finally {
      rt.run(['delete', '--force', id2]);
    }
    assertNothingLeft(id2, b);
  }
});

test('delete of a created, never started container removes it', async () => {
  const b = bundle(['sleep', '1000']);
  const id = newId();
  rt.ok(['create', '--bundle', b.dir, id]);
  const pid = rt.state(id).pid;
  const r = rt.run(['delete', id]);
  assert.equal(r.code, 0, r.stderr);
  // dead: gone, or a zombie until whoever inherited it (the front exited) reaps it
  const dead = (): boolean => { try { return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; } };
  await waitFor(dead);
  assertNothingLeft(id, b);
});

test('ps prints ps(1)\'s table with the init\'s row; list -q prints ids', () => {
  const b = bundle(['sleep', '1000']);
  const id = runDetached(b);
  try {
    const pid = rt.state(id).pid;
    const table = rt.ok(['ps', id]).trim().split('\n');
    assert.match(table[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    assert.ok(table.slice(1).some((l) => l.trim().split(/\s+/)[1] === String(pid) && /sleep 1000/.test(l)), table.join('\n'));
    const ids = rt.ok(['list', '-q']).trim().split('\n');
    assert.ok(ids.includes(id), ids.join(','));
    assert.ok(ids.every((i) => !/\s/.test(i)), 'only ids');
  } finally {
    rt.run(['delete', '--force', id]);
  }
  assertNothingLeft(id, b);
});

test('events --interval 100ms streams stats and stops when the container dies', async () => {
  const b = bundle(['sleep', '1000']);
  const id = runDetached(b);
  try {
    const child = spawn(BINARY, ['--root', rt.root, 'events', '--interval', '100ms', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    await new Promise((r) => setTimeout(r, 1000));
    const lines = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; id: string });
    assert.ok(lines.filter((l) => l.type === 'stats' && l.id === id).length >= 2, `stats lines within a second: ${lines.length}`);
    rt.ok(['kill', id, 'KILL']);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const code = await exited;
    clearTimeout(timer);
    assert.notEqual(code, null, 'events stopped by itself once the container died');
  } finally {
    rt.run(['delete', '--force', id]);
  }
  assertNothingLeft(id, b);
});

// ---------------------------------------------------------------- spec, features, usage errors

test('spec writes a config.json that runs once its args are changed', () => {
  const b = bundle(['true']);
  rmSync(join(b.dir, 'config.json'));
  const r = rt.run(['spec'], { cwd: b.dir });
  assert.equal(r.code, 0, r.stderr);
  const spec = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8')) as { process: { args: string[]; terminal: boolean }; root: { path: string } };
  assert.equal(spec.root.path, 'rootfs');
  spec.process.args = ['sh', '-c', 'echo from-spec'];
  spec.process.terminal = false;
  writeFileSync(join(b.dir, 'config.json'), JSON.stringify(spec));
  const again = rt.run(['spec'], { cwd: b.dir });
  assert.equal(again.code, 1, 'an existing config.json is never overwritten');
  const id = newId();
  const run = rt.run(['run', '--bundle', b.dir, id]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'from-spec\n');
  assertNothingLeft(id, b);
});

test('features prints valid JSON', () => {
  const f = JSON.parse(rt.ok(['features'])) as { ociVersionMin: string; ociVersionMax: string; mountOptions: string[]; linux: { namespaces: string[] } };
  assert.match(f.ociVersionMax, /^1\.\d+\.\d+/);
  assert.ok(f.mountOptions.includes('rbind'));
  assert.ok(f.linux.namespaces.includes('pid'));
});

test('usage errors exit 1 with a clear message', () => {
  const start = rt.run(['start', 'no-such-container']);
  assert.equal(start.code, 1);
  assert.match(start.stderr, /no-such-container/);
  assert.match(start.stderr, /does not exist|not exist/);
  const state = rt.run(['state']);
  assert.equal(state.code, 1);
  assert.match(state.stderr, /container.id|argument|container id cannot be empty/i);
  const verb = rt.run(['no-such-verb']);
  assert.equal(verb.code, 1);
  assert.match(verb.stderr, /no-such-verb/);
  assert.match(verb.stderr, /unknown command|No help topic/i);
});

// ---------------------------------------------------------------- create and run options

test('create --no-pivot: the container runs under MS_MOVE + chroot', async () => {
  const b = bundle(['sh', '-c', 'cat /proc/self/mountinfo > /tmp/mountinfo; echo ok > /tmp/ran']);
  const id = newId();
  try {
    rt.ok(['create', '--no-pivot', '--bundle', b.dir, id]);
    rt.ok(['start', id]);
    await waitStopped(id);
    assert.equal(readFileSync(join(b.rootfs, 'tmp', 'ran'), 'utf8'), 'ok\n');
    rt.ok(['delete', id]);
  } finally {
    rt.run(['delete', '--force', id]);
  }
  assertNothingLeft(id, b);
});

test('--preserve-fds 1 passes the caller\'s fd 3 into the container', () => {
  const b = bundle(['sh', '-c', 'cat /proc/self/fd/3; ls /proc/self/fd | sort -n | tr "\\n" " "']);
  const dir = tempDir();
  writeFileSync(join(dir, 'passed'), 'through fd 3\n');
  const fd3 = openSync(join(dir, 'passed'), 'r');
  const out = openSync(join(dir, 'stdout'), 'w+');
  const err = openSync(join(dir, 'stderr'), 'w+');
  const id = newId();
  try {
    const r = spawnSync(BINARY, ['--root', rt.root, 'run', '--preserve-fds', '1', '--bundle', b.dir, id], { stdio: ['ignore', out, err, fd3], timeout: 30_000 });
    assert.equal(r.status, 0, readFileSync(join(dir, 'stderr'), 'utf8'));
  } finally {
    closeSync(fd3);
    closeSync(out);
    closeSync(err);
  }
  const stdout = readFileSync(join(dir, 'stdout'), 'utf8');
  assert.match(stdout, /^through fd 3$/m);
  // 0-2, 3 and the fd ls itself opened: nothing else leaks in
  assert.match(stdout, /^0 1 2 3 4 $/m, stdout);
  assertNothingLeft(id, b);
});

test('run -d, then exec -d -t --console-socket drives a shell on a new pty', async () => {
  const b = bundle(['sleep', '1000']);
  const id = runDetached(b);
  const dir = tempDir();
  const recv = await consoleReceiver(dir, 'echo exec-$((6*7)); tty; exit 5\n');
  try {
    // detached, as containerd's shim runs it (runc refuses a console socket without -d)
    const pidFile = join(dir, 'exec.pid');
    const r: Result = rt.run(['exec', '-d', '-t', '--console-socket', recv.path, '--pid-file', pidFile, id, 'sh']);
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(pid > 0, 'the pid file names the exec process');
    const got = await recv.result;
    assert.equal(got.fds, 1);
    assert.match(got.out, /^exec-42\r?$/m, got.out);
    assert.match(got.out, /^\/dev\/pts\/\d+\r?$/m, got.out);
    assert.equal(rt.state(id).status, 'running', 'the container outlives the exec');
  } finally {
    rt.run(['delete', '--force', id]);
  }
  assertNothingLeft(id, b);
});

test('exec flags: -e overrides the env, -u, -g, --cwd, --cap, --no-new-privs', () => {
  const b = bundle(['sleep', '1000']);
  b.config.process.env.push('FOO=base');
  b.config.process.noNewPrivileges = false;
  b.write();
  const id = runDetached(b);
  try {
    const env = rt.run(['exec', '-e', 'FOO=over', '-e', 'BAR=new', id, 'sh', '-c', 'env | grep -E "^(FOO|BAR)=" | sort']);
    assert.equal(env.stdout, 'BAR=new\nFOO=over\n', env.stderr);
    const user = rt.run(['exec', '-u', '1000:1000', '-g', '5', '--cwd', '/tmp', id, 'sh', '-c', 'id -u; id -g; id -G; pwd']);
    assert.equal(user.stdout, '1000\n1000\n1000 5\n/tmp\n', user.stderr);
    const without = rt.run(['exec', id, 'sh', '-c', 'touch /tmp/a && chown 5 /tmp/a && echo chowned']);
    assert.equal(without.stdout, '', 'control: the bundle has no CAP_CHOWN');
    const withCap = rt.run(['exec', '--cap', 'CAP_CHOWN', id, 'sh', '-c', 'touch /tmp/b && chown 5 /tmp/b && echo chowned']);
    assert.equal(withCap.stdout, 'chowned\n', withCap.stderr);
    assert.equal(rt.run(['exec', id, 'grep', 'NoNewPrivs', '/proc/self/status']).stdout, 'NoNewPrivs:\t0\n');
    assert.equal(rt.run(['exec', '--no-new-privs', id, 'grep', 'NoNewPrivs', '/proc/self/status']).stdout, 'NoNewPrivs:\t1\n');
  } finally {
    rt.run(['delete', '--force', id]);
  }
  assertNothingLeft(id, b);
});

test('exec in an unknown container and in a stopped one fail clearly', async () => {
  const b = bundle(['true']);
  const id = newId();
  rt.ok(['run', '-d', '--bundle', b.dir, id]);
  try {
    await waitStopped(id);
    const r = rt.run(['exec', id, 'true']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /stopped/);
  } finally {
    rt.run(['delete', '--force', id]);
  }
  const none = rt.run(['exec', 'no-such-container', 'true']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no-such-container/);
  assertNothingLeft(id, b);
});
