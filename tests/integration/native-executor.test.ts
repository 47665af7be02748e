// The C front and plan executor on the real kernel, driven by the stub
// planner (tests/fixtures/planner-stub): each test hands the front a plan and
// checks from inside the container (and from the host) what it did.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePlanMessage, type PlanEntry } from '../../src/runtime/plan/wire.js';
import { MessageType, PlanKind, RootSwitch, MountExtra, HookPoint } from '../../src/runtime/plan/format.js';
import { native } from '../../src/common/native.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
const stub = path.join(root, 'tests/fixtures/planner-stub/planner.mjs');
const front = [path.join(root, 'build/Release/berth-runtime'), path.join(root, 'bin/berth-runtime')].find((p) => fs.existsSync(p)) ?? 'berth-runtime-not-built';

const CLONE = { NEWNS: 0x00020000, NEWUTS: 0x04000000, NEWIPC: 0x08000000, NEWUSER: 0x10000000, NEWPID: 0x20000000, NEWNET: 0x40000000 };
const MS = { NOSUID: 2, NODEV: 4, NOEXEC: 8, BIND: 0x1000, REC: 0x4000, SLAVE: 0x80000 };

let tmp = '';
let rootfs = '';

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-native-'));
  rootfs = path.join(tmp, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'tmp', 'etc']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  const applets = execFileSync('/bin/busybox', ['--list']).toString().split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  fs.chmodSync(tmp, 0o755);
});

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Report {
  plannerPid: number;
  argv: string[];
  childPid?: number;
  status?: number;
  events: string[];
  failed?: { step: string; errno: number; message: string };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  report: Report;
}

let runs = 0;

/** Runs the front with the stub planner; the plan goes through a file. */
async function runFront(plan: PlanEntry[] | undefined, env: Record<string, string> = {}, extraFds: number[] = []): Promise<Run> {
  const n = ++runs;
  const report = path.join(tmp, `report-${n}.json`);
  const planEnv: Record<string, string> = {};
  if (plan) {
    const file = path.join(tmp, `plan-${n}.bin`);
    fs.writeFileSync(file, encodePlanMessage(MessageType.EXECUTE, plan));
    planEnv.BERTH_TEST_PLAN = file;
  }
  const child = spawn(front, ['run', 'test'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BERTH_PLANNER: 'inline', BERTH_PLANNER_PATH: stub, BERTH_TEST_REPORT: report, ...planEnv, ...env },
    stdio: ['pipe', 'pipe', 'pipe', ...extraFds],
  });
  const { stdin: input, stdout: out, stderr: err } = child;
  if (!input || !out || !err) throw new Error('the front was spawned without stdio pipes');
  input.end(env.BERTH_TEST_INPUT ?? '');
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => { stdout += d.toString(); });
  err.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
  // 'exit', not 'close': a created container keeps the front's stdout open
  const closed = new Promise((resolve) => child.on('close', resolve));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 300))]);
  clearTimeout(timer);
  const text = fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : '{"events":[]}';
  return { code, stdout, stderr, report: JSON.parse(text) as Report };
}

function basePlan(args: string[], extra: PlanEntry[] = [], opts: { kind?: number; fs?: PlanEntry[] } = {}): PlanEntry[] {
  return [
    { type: 'KIND', value: { kind: opts.kind ?? PlanKind.INIT } },
    { type: 'NS_NEW', value: { flags: CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWNET } },
    { type: 'ROOTFS', value: { path: rootfs } },
    { type: 'ROOTFS_PROPAGATION', value: { flags: MS.SLAVE | MS.REC } },
    mount('proc', '/proc', 'proc', MS.NOSUID | MS.NODEV | MS.NOEXEC),
    mount('tmpfs', '/dev', 'tmpfs', MS.NOSUID, 'mode=755'),
    { type: 'MKNOD', value: { path: '/dev/null', mode: 0o20666, major: 1, minor: 3, uid: 0, gid: 0 } },
    ...(opts.fs ?? []),
    { type: 'ROOT_SWITCH', value: { mode: RootSwitch.PIVOT_ROOT } },
    { type: 'HOSTNAME', value: { name: 'berth-test' } },
    { type: 'ENV', value: { values: ['PATH=/bin', 'HOME=/'] } },
    { type: 'CWD', value: { path: '/' } },
    ...extra,
    { type: 'ARGS', value: { values: args } },
  ];
}

function mount(source: string, dest: string, fstype: string, flags = 0, data = '', extra = 0): PlanEntry {
  return { type: 'MOUNT', value: { source, dest, fstype, flags, propagation: 0, data, extra, uidMappings: '', gidMappings: '' } };
}

const exitCode = (status: number | undefined): number => ((status ?? -1) >> 8) & 0xff;
const alive = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
  return !alive(pid);
}

test('a container runs as pid 1 of a new pid namespace, with its hostname, /proc and only its rootfs', async () => {
  const r = await runFront(basePlan(['sh', '-c', `echo pid=$$; hostname; test -e /proc/self/status && echo proc=yes; test -e ${tmp} && echo host=visible || echo host=hidden; ls /`]));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.report.events, ['child', 'ready', 'exited']);
  assert.equal(exitCode(r.report.status), 0);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'pid=1');
  assert.equal(lines[1], 'berth-test');
  assert.equal(lines[2], 'proc=yes');
  assert.equal(lines[3], 'host=hidden');
  assert.deepEqual(lines.slice(4).filter(Boolean).sort(), ['bin', 'dev', 'etc', 'proc', 'tmp']);
});

test('the exit status of the container comes back raw through WAIT', async () => {
  const r = await runFront(basePlan(['sh', '-c', 'exit 7']));
  assert.equal(exitCode(r.report.status), 7);
});

test('signals the front receives during WAIT are forwarded to the container', async () => {
  const n = ++runs;
  const file = path.join(tmp, `plan-${n}.bin`);
  const report = path.join(tmp, `report-${n}.json`);
  fs.writeFileSync(file, encodePlanMessage(MessageType.EXECUTE, basePlan(['sh', '-c', 'trap "exit 3" TERM; echo ready; while :; do sleep 0.05; done'])));
  const child = spawn(front, ['run', 'sig'], {
    env: { BERTH_PLANNER: 'inline', BERTH_PLANNER_PATH: stub, BERTH_TEST_PLAN: file, BERTH_TEST_REPORT: report },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) child.kill('SIGTERM'); });
  const code = await new Promise((res) => child.on('close', res));
  assert.equal(code, 0);
  const rep = JSON.parse(fs.readFileSync(report, 'utf8')) as Report;
  assert.equal(exitCode(rep.status), 3);
});

test('capabilities are applied to a root process', async () => {
  const caps = (1n << 0n) | (1n << 5n);
  const r = await runFront(basePlan(['sh', '-c', 'grep -E "^Cap(Eff|Prm|Bnd|Inh)" /proc/self/status'], [
    { type: 'CAPS', value: { bounding: caps, effective: caps, permitted: caps, inheritable: 1n << 5n, ambient: 0 } },
  ]));
  assert.equal(r.stdout, 'CapInh:\t0000000000000020\nCapPrm:\t0000000000000021\nCapEff:\t0000000000000021\nCapBnd:\t0000000000000021\n');
});

test('user, groups, bounding set and rlimits are applied', async () => {
  const caps = (1n << 0n) | (1n << 5n); // CAP_CHOWN, CAP_KILL
  const r = await runFront(basePlan(['sh', '-c', 'grep -E "^Cap(Eff|Prm|Bnd|Amb)" /proc/self/status; id -u; id -g; id -G; ulimit -n; ulimit -Hn'], [
    { type: 'RLIMIT', value: { resource: 7, soft: 123, hard: 456 } },
    { type: 'CAPS', value: { bounding: caps, effective: caps, permitted: caps, inheritable: 0, ambient: 0 } },
    { type: 'USER', value: { uid: 1000, gid: 1001, groups: [1001, 2000] } },
    { type: 'NO_NEW_PRIVS', value: {} },
  ]));
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  // a non-root uid keeps no capabilities through execve without ambient ones
  assert.match(out, /CapPrm:\s+0000000000000000/);
  assert.match(out, /CapEff:\s+0000000000000000/);
  assert.match(out, /CapBnd:\s+0000000000000021/);
  assert.match(out, /\n1000\n1001\n1001 2000\n123\n456\n$/);
});

test('ambient capabilities survive the exec of a non-root process', async () => {
  const caps = 1n << 0n;
  const r = await runFront(basePlan(['sh', '-c', 'grep -E "^Cap(Eff|Amb)" /proc/self/status'], [
    { type: 'CAPS', value: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps } },
    { type: 'USER', value: { uid: 1000, gid: 1000, groups: [] } },
  ]));
  assert.match(r.stdout, /CapEff:\s+0000000000000001/);
  assert.match(r.stdout, /CapAmb:\s+0000000000000001/);
});

test('a mount destination that is a symlink to a host path stays inside the rootfs', async () => {
  const hostDir = path.join(tmp, 'host-target');
  fs.mkdirSync(hostDir);
  fs.writeFileSync(path.join(hostDir, 'secret'), 'host');
  fs.symlinkSync(hostDir, path.join(rootfs, 'evil'));
  fs.symlinkSync('../../../../../../../../' + hostDir.slice(1) + '/../x', path.join(rootfs, 'evil2'));
  try {
    const r = await runFront(basePlan(['sh', '-c', `awk '$5 == "${hostDir}"' /proc/self/mountinfo | wc -l`], [], {
      fs: [mount('tmpfs', '/evil', 'tmpfs'), mount(hostDir, '/evil2', 'bind', MS.BIND)],
    }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(exitCode(r.report.status), 0, r.stdout + JSON.stringify(r.report));
    // the tmpfs landed on <rootfs><hostDir>, which is <hostDir> inside the container
    assert.equal(r.stdout.split('\n')[0], '1');
    assert.ok(fs.existsSync(path.join(rootfs, hostDir)), 'the destination was created inside the rootfs');
    assert.ok(fs.existsSync(path.join(rootfs, path.dirname(hostDir), 'x')), 'the relative symlink was resolved inside the rootfs');
    assert.equal(fs.readFileSync(path.join(hostDir, 'secret'), 'utf8'), 'host');
  } finally {
    fs.rmSync(path.join(rootfs, 'evil'));
    fs.rmSync(path.join(rootfs, 'evil2'));
    fs.rmSync(path.join(rootfs, tmp), { recursive: true, force: true });
  }
});

test('a working directory through a leaked host directory fd is refused', async () => {
  const dirFd = fs.openSync(tmp, 'r');
  try {
    const r = await runFront(basePlan(['true'], [
      { type: 'PRESERVE_FDS', value: { count: 1 } },
      { type: 'CWD', value: { path: '/proc/self/fd/3' } },
    ]), {}, [dirFd]);
    assert.equal(r.code, 1);
    assert.equal(r.report.failed?.step, 'chdir');
    assert.equal(r.report.failed?.errno, 1);
    assert.ok(r.report.childPid && !alive(r.report.childPid));
  } finally {
    fs.closeSync(dirFd);
  }
});

test("exec of the runtime's own binary is refused", async () => {
  const r = await runFront(basePlan(['/proc/self/exe', 'x']));
  assert.equal(r.report.failed?.step, 'exec');
  assert.equal(r.report.failed?.errno, 1);
  assert.match(r.report.failed?.message ?? '', /own binary/);
});

test('a missing executable fails before ready with ENOENT', async () => {
  const r = await runFront(basePlan(['no-such-command']));
  assert.equal(r.report.failed?.step, 'exec');
  assert.equal(r.report.failed?.errno, 2);
});

test('preserved fds reach the container; no other fd does', async () => {
  const pipeRead = path.join(tmp, 'preserved.txt');
  const fd3 = fs.openSync(pipeRead, 'w');
  const fd4 = fs.openSync(tmp, 'r');
  try {
    const r = await runFront(basePlan(['sh', '-c', 'echo through-fd3 >&3; ls /proc/$$/fd; ls -l /proc/$$/fd >&2'], [
      { type: 'PRESERVE_FDS', value: { count: 1 } },
    ]), {}, [fd3, fd4]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(pipeRead, 'utf8'), 'through-fd3\n');
    assert.deepEqual(r.stdout.trim().split(/\s+/).map(Number).sort(), [0, 1, 2, 3], r.stderr);
  } finally {
    fs.closeSync(fd3);
    fs.closeSync(fd4);
  }
});

test('an init process waits on the exec fifo until it is opened for reading', async () => {
  const fifo = path.join(tmp, 'exec.fifo');
  execFileSync('mkfifo', ['-m', '0600', fifo]);
  const r = await runFront(basePlan(['sh', '-c', 'echo started > /tmp/started'], [{ type: 'SETSID', value: {} }], {
    fs: [{ type: 'EXEC_FIFO', value: { path: fifo } } as PlanEntry],
  }).map((e) => e), { BERTH_TEST_AFTER: 'exit' });
  // EXEC_FIFO is acted on at its fixed point whatever its position
  assert.equal(r.code, 0, r.stderr);
  const pid = r.report.childPid!;
  try {
    assert.ok(alive(pid), 'the init waits after the front exited');
    await new Promise((res) => setTimeout(res, 200));
    assert.ok(!fs.existsSync(path.join(rootfs, 'tmp/started')), 'not started before the fifo is read');
    const fd = fs.openSync(fifo, fs.constants.O_RDONLY);
    const buf = Buffer.alloc(8);
    const n = fs.readSync(fd, buf);
    fs.closeSync(fd);
    assert.equal(buf.subarray(0, n).toString(), '0');
    assert.ok(await gone(pid));
    assert.equal(fs.readFileSync(path.join(rootfs, 'tmp/started'), 'utf8'), 'started\n');
  } finally {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(path.join(rootfs, 'tmp/started'), { force: true });
    fs.rmSync(fifo);
  }
});

test('exec joins the namespaces of a running container', async () => {
  const init = await runFront(basePlan(['sleep', '30']), { BERTH_TEST_AFTER: 'exit' });
  assert.equal(init.code, 0, init.stderr);
  const pid = init.report.childPid!;
  try {
    const joins: PlanEntry[] = ['ipc', 'uts', 'net', 'pid', 'mnt'].map((ns) => ({
      type: 'NS_JOIN',
      value: { nstype: ({ ipc: CLONE.NEWIPC, uts: CLONE.NEWUTS, net: CLONE.NEWNET, pid: CLONE.NEWPID, mnt: CLONE.NEWNS } as Record<string, number>)[ns]!, path: `/proc/${pid}/ns/${ns}` },
    }));
    const r = await runFront([
      { type: 'KIND', value: { kind: PlanKind.EXEC } },
      ...joins,
      { type: 'ENV', value: { values: ['PATH=/bin'] } },
      { type: 'CWD', value: { path: '/tmp' } },
      { type: 'ARGS', value: { values: ['sh', '-c', 'hostname; pwd; cat /proc/1/cmdline | tr "\\0" " "; echo; test $$ != 1 && echo not-init'] } },
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.report.events, ['child', 'ready', 'exited']);
    assert.equal(r.stdout, 'berth-test\n/tmp\nsleep 30 \nnot-init\n');
  } finally {
    process.kill(pid, 'SIGKILL');
    assert.ok(await gone(pid));
  }
});

test('a failed exec in an exec plan comes back as FAILED', async () => {
  const init = await runFront(basePlan(['sleep', '30']), { BERTH_TEST_AFTER: 'exit' });
  const pid = init.report.childPid!;
  try {
    const r = await runFront([
      { type: 'KIND', value: { kind: PlanKind.EXEC } },
      { type: 'NS_JOIN', value: { nstype: CLONE.NEWPID, path: `/proc/${pid}/ns/pid` } },
      { type: 'NS_JOIN', value: { nstype: CLONE.NEWNS, path: `/proc/${pid}/ns/mnt` } },
      { type: 'ARGS', value: { values: ['/nonexistent'] } },
    ]);
    assert.equal(r.report.failed?.step, 'exec');
    assert.equal(r.report.failed?.errno, 2);
  } finally {
    process.kill(pid, 'SIGKILL');
    await gone(pid);
  }
});

test('the pty master goes to the console socket; the slave is the stdio and controlling tty', async () => {
  const sock = path.join(tmp, 'console.sock');
  const addon = native();
  const listener = addon.unixListen(sock);
  const report = path.join(tmp, 'console-report.json');
  const planFile = path.join(tmp, 'console-plan.bin');
  fs.writeFileSync(planFile, encodePlanMessage(MessageType.EXECUTE, basePlan(['sh', '-c', 'tty; stty size; sleep 1'], [
    { type: 'SETSID', value: {} },
    { type: 'TERMINAL', value: { rows: 33, cols: 101 } },
    { type: 'CONSOLE_SOCKET', value: { path: sock } },
  ], {
    fs: [
      mount('devpts', '/dev/pts', 'devpts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=0620'),
      { type: 'SYMLINK', value: { target: 'pts/ptmx', path: '/dev/ptmx' } },
    ],
  })));
  const child = spawn(front, ['run', 'tty'], {
    env: { BERTH_PLANNER: 'inline', BERTH_PLANNER_PATH: stub, BERTH_TEST_PLAN: planFile, BERTH_TEST_REPORT: report },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const closed = new Promise((res) => child.on('close', res));
  try {
    const got = addon.recvFd(listener, 10000);
    assert.equal(got.data, '/dev/pts/0');
    let text = '';
    const buf = Buffer.alloc(4096);
    while (!/33 101/.test(text)) {
      let n = 0;
      try { n = fs.readSync(got.fd, buf); } catch { break; }
      if (n === 0) break;
      text += buf.subarray(0, n).toString();
    }
    fs.closeSync(got.fd);
    assert.match(text, /\/dev\/pts\/0\r\n33 101/);
  } finally {
    addon.close(listener);
    await closed;
  }
  const rep = JSON.parse(fs.readFileSync(report, 'utf8')) as Report;
  assert.equal(exitCode(rep.status), 0);
});

test('a createRuntime hook point stops the child until CONTINUE', async () => {
  const r = await runFront(basePlan(['true'], [], { fs: [{ type: 'HOOK_POINT', value: { point: HookPoint.CREATE_RUNTIME } }] }));
  assert.deepEqual(r.report.events, ['child', 'hook 1', 'ready', 'exited']);
});

test('a failing mount comes back as FAILED with its step and errno, leaving no process', async () => {
  const r = await runFront(basePlan(['true'], [], { fs: [mount('/nonexistent-source', '/mnt', 'bind', MS.BIND | MS.REC)] }));
  assert.equal(r.code, 1);
  assert.equal(r.report.failed?.step, 'mount /mnt');
  assert.equal(r.report.failed?.errno, 2);
  assert.ok(r.report.childPid);
  assert.ok(!alive(r.report.childPid!));
  fs.rmSync(path.join(rootfs, 'mnt'), { recursive: true, force: true });
});

test('ABORT kills and reaps the child', async () => {
  const r = await runFront(basePlan(['true']), { BERTH_TEST_ABORT: '1' });
  assert.equal(r.report.failed?.step, 'abort');
  assert.ok(!alive(r.report.childPid!));
});

test('a planner lost before READY takes the child with it', async () => {
  const r = await runFront(basePlan(['true']), { BERTH_TEST_DROP: '1' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /berth-runtime: lost the planner/);
  assert.ok(r.report.childPid && !alive(r.report.childPid));
});

test('without a console socket the front proxies the terminal during WAIT', async () => {
  const r = await runFront(basePlan(['sh', '-c', 'tty; stty size; echo done'], [
    { type: 'SETSID', value: {} },
    { type: 'TERMINAL', value: { rows: 12, cols: 34 } },
  ], {
    fs: [
      mount('devpts', '/dev/pts', 'devpts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=0620'),
      { type: 'SYMLINK', value: { target: 'pts/ptmx', path: '/dev/ptmx' } },
    ],
  }));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '/dev/pts/0\r\n12 34\r\ndone\r\n');
  assert.equal(exitCode(r.report.status), 0);
});

test('a malformed plan record is refused as FAILED, not a crash', async () => {
  const r = await runFront([{ type: 'KIND', value: { kind: PlanKind.INIT } }, { type: 'ROOTFS', value: { path: rootfs } }, { type: 'CWD', value: { path: '/' } }]);
  // no ARGS: the child fails in set-up with a plan error
  assert.equal(r.report.failed?.step, 'plan');
  const bad = path.join(tmp, 'bad-plan.bin');
  // a well-framed EXECUTE whose KIND record holds 2 bytes instead of a u32
  const frame = Buffer.from([10, 0, 0, 0, MessageType.EXECUTE, 0, 1, 0, 2, 0, 0, 0, 1, 0]);
  fs.writeFileSync(bad, frame);
  const r2 = await runFront(undefined, { BERTH_TEST_PLAN: bad });
  assert.equal(r2.report.failed?.step, 'plan');
});

test('stdin is relayed on NEED_STDIN and OUTPUT goes to stdout', async () => {
  const r = await runFront(undefined, { BERTH_TEST_STDIN: '1', BERTH_TEST_INPUT: 'hello planner\n', BERTH_TEST_CODE: '4' });
  assert.equal(r.code, 4);
  assert.match(r.stdout, /^hello planner\nplanner \d+ .*berth-runtime run test\n$/);
});

test('a user namespace container is root inside and mapped outside', async () => {
  const plan = basePlan(['sh', '-c', 'id -u; cat /proc/self/uid_map; cat /proc/self/oom_score_adj'], [{ type: 'OOM_SCORE_ADJ', value: { value: 123 } }], {}).map((e): PlanEntry => {
    if (e.type === 'NS_NEW') return { type: 'NS_NEW', value: { flags: e.value.flags | CLONE.NEWUSER } };
    if (e.type === 'MKNOD') return { type: 'BIND_DEVICE', value: { path: '/dev/null', hostPath: '/dev/null' } };
    return e;
  });
  const r = await runFront(plan, { BERTH_TEST_UIDMAP: '0 100000 65536' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(exitCode(r.report.status), 0, r.stdout);
  assert.match(r.stdout, /^0\n\s+0\s+100000\s+65536\n123\n$/);
});

test('a new time namespace gets its offsets before the container enters it', async () => {
  const plan = basePlan(['cat', '/proc/uptime']).map((e): PlanEntry =>
    e.type === 'NS_NEW' ? { type: 'NS_NEW', value: { flags: e.value.flags | 0x80 } } : e);
  plan.splice(2, 0, { type: 'TIMENS_OFFSETS', value: { offsets: 'monotonic 864000 0\nboottime 864000 0' } });
  const r = await runFront(plan);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Number(r.stdout.split(' ')[0]) >= 864000, r.stdout);
});

test('an idmapped bind mount shows files under the mapped owner', async () => {
  const dir = path.join(tmp, 'idmapped');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'file'), 'x');
  const idmap: PlanEntry = {
    type: 'MOUNT',
    value: { source: dir, dest: '/idm', fstype: 'bind', flags: MS.BIND | MS.REC, propagation: 0, data: '', extra: MountExtra.IDMAP, uidMappings: '0 1000 1', gidMappings: '0 2000 1' },
  };
  try {
    const r = await runFront(basePlan(['stat', '-c', '%u %g', '/idm/file'], [], { fs: [idmap] }));
    assert.equal(r.code, 0, r.stderr + JSON.stringify(r.report.failed));
    assert.equal(r.stdout, '1000 2000\n');
    assert.equal(fs.statSync(path.join(dir, 'file')).uid, 0, 'the files on disk are unchanged');
  } finally {
    fs.rmSync(path.join(rootfs, 'idm'), { recursive: true, force: true });
  }
});

test('daemon mode starts the planner once and reuses it', async () => {
  const script = path.join(tmp, 'daemon-planner.mjs');
  fs.copyFileSync(stub, script);
  const st = fs.statSync(script, { bigint: true });
  const id = `${st.ino.toString(16)}-${(st.mtimeNs / 1000000000n).toString(16)}-${(st.mtimeNs % 1000000000n).toString(16)}`;
  const sock = `/run/berth/planner/${id}.sock`;
  const run = () => new Promise<string>((resolve) => {
    const c = spawn(front, ['state', 'x'], { env: { BERTH_PLANNER_PATH: script }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('close', () => resolve(out));
  });
  let daemon = 0;
  try {
    const a = await run();
    assert.ok(fs.existsSync(sock), `socket ${sock}`);
    const b = await run();
    daemon = Number(/^planner (\d+)/.exec(a)?.[1]);
    assert.ok(daemon > 0, a);
    assert.equal(Number(/^planner (\d+)/.exec(b)?.[1]), daemon, 'the second call reached the same daemon');
    assert.equal(fs.statSync('/run/berth/planner').mode & 0o777, 0o700);
  } finally {
    if (daemon) process.kill(daemon, 'SIGKILL');
    if (daemon) await gone(daemon);
    fs.rmSync(sock, { force: true });
    fs.rmSync(sock.replace(/\.sock$/, '.lock'), { force: true });
  }
});
