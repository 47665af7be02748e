/**
 * bin/berth's front (native/cli/) and its zygote (scripts/berth-zygote.cjs):
 * a command handed to a warm zygote behaves as the launcher run directly
 * (output, exit code, stdin, env, cwd, a terminal), a missing, stale or
 * outdated zygote costs a cold start and never a failure, and signals to
 * the front reach the command. Everything runs from a private copy of the
 * install (its own zygote socket, a bundle the test may "rebuild") with a
 * private XDG_RUNTIME_DIR; a berthd from tests/helpers/berthd.ts serves
 * the commands that need a daemon.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxTar, docker, layout, ready, skipBerthd, spawnBerthd, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';
import { REPO } from '../helpers/runtime.js';

const skip = skipBerthd;
let dir: string;
let install: string;
let xdg: string;
let l: Layout;
let b: Berthd;
let env: NodeJS.ProcessEnv;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const berthBin = (): string => join(install, 'bin', 'berth');

function berth(args: string[], opts: { input?: string; cwd?: string; extra?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(berthBin(), args, { encoding: 'utf8', timeout: 60_000, input: opts.input, cwd: opts.cwd ?? dir, env: { ...env, ...opts.extra } });
}

/** Live zygotes of this test (their environment names our socket directory). */
function zygotes(): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (readFileSync(`/proc/${p}/environ`, 'latin1').split('\0').some((e) => e.startsWith(`BERTH_CLI_ZYGOTE=${xdg}/`))) pids.push(Number(p));
    } catch { /* gone */ }
  }
  return pids;
}

function socketPath(): string | undefined {
  const s = readdirSync(xdg).find((f) => /^berth-cli-\d+-[0-9a-f]{8}\.sock$/.test(f));
  return s === undefined ? undefined : join(xdg, s);
}

/** Waits until a zygote holds the socket; its pids. */
async function warm(): Promise<number[]> {
  for (let i = 0; i < 200; i++) {
    const z = zygotes();
    if (z.length > 0 && socketPath() !== undefined) return z;
    await sleep(50);
  }
  throw new Error('no zygote started');
}

function killZygotes(): void {
  for (const p of zygotes()) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
}

/** Runs args through a warm zygote and checks that one served it (it is gone after). */
async function served(args: string[], opts: Parameters<typeof berth>[1] = {}): Promise<SpawnSyncReturns<string>> {
  const before = await warm();
  const r = berth(args, opts);
  // it exits right after handing over the code (and starting its successor)
  for (let i = 0; i < 40 && before.every((p) => zygotes().includes(p)); i++) await sleep(50);
  assert.ok(before.some((p) => !zygotes().includes(p)), `no zygote served berth ${args.join(' ')}`);
  return r;
}

/** A private install: the front, the launcher, the zygote, the addon and a copy of the bundle. */
function copyInstall(): void {
  mkdirSync(join(install, 'bin'), { recursive: true });
  mkdirSync(join(install, 'dist'));
  copyFileSync(join(REPO, 'bin', 'berth'), berthBin());
  chmodSync(berthBin(), 0o755);
  for (const f of ['berth-launcher.cjs', 'berth-zygote.cjs', 'berth_addon.node', 'berth.cjs']) copyFileSync(join(REPO, 'dist', f), join(install, 'dist', f));
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync('/tmp/zyg-');
  install = join(dir, 'install');
  xdg = join(dir, 'run');
  mkdirSync(xdg, { mode: 0o700 });
  copyInstall();
  l = layout(join(dir, 'd'));
  mkdirSync(l.dir);
  b = await ready(spawnBerthd(l));
  env = { ...process.env, XDG_RUNTIME_DIR: xdg, DOCKER_HOST: `unix://${l.sock}`, DOCKER_CONFIG: join(dir, 'cfg'), BERTH_CONFIG: join(dir, 'cfg') };
  delete env.BERTH_NO_ZYGOTE;
  delete env.BERTH_HOST;
  assert.equal(docker(l.sock, ['import', busyboxTar(dir), 'busybox:latest']).status, 0);
});

after(async () => {
  if (skip) return;
  killZygotes();
  assert.deepEqual(await teardownBerthd(b, l, dir), []);
  assert.deepEqual(zygotes(), []);
});

test('zygote: no zygote yet: the launcher runs the command and one starts for next time', { skip }, async () => {
  killZygotes();
  const r = berth(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Berth version /);
  await warm();
});

test('zygote: output, stderr and exit codes are the launcher\'s own', { skip }, async () => {
  const cases = [['--version'], ['nosuch'], ['ps', '--bogus'], ['-H', 'unix:///nonexistent/b.sock', 'ps'], ['inspect', 'no-such-container'], ['ps', '-a', '--format', '{{.Names}}']];
  for (const args of cases) {
    const direct = berth(args, { extra: { BERTH_NO_ZYGOTE: '1' } });
    const warmRun = await served(args);
    assert.deepEqual({ status: warmRun.status, out: warmRun.stdout, err: warmRun.stderr }, { status: direct.status, out: direct.stdout, err: direct.stderr }, `berth ${args.join(' ')}`);
  }
  assert.equal(berth(['nosuch']).status, 1);
});

test('zygote: stdin, env and a relative path in the cwd reach the command', { skip }, async () => {
  const r = await served(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo "[$FOO]"'], { input: 'piped line\n', extra: { FOO: 'not-passed' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'piped line\n[]\n');
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'vars.env'), 'FOO=from-file\n');
  const e = await served(['run', '--rm', '--env-file', 'vars.env', '-e', 'BAR', 'busybox', 'sh', '-c', 'echo "$FOO $BAR"'], { cwd: work, extra: { BAR: 'from-env' } });
  assert.equal(e.status, 0, e.stderr);
  assert.equal(e.stdout, 'from-file from-env\n');
  // DOCKER_HOST from the caller's environment, not the zygote's
  const h = await served(['ps'], { extra: { DOCKER_HOST: 'unix:///nonexistent/x.sock' } });
  assert.equal(h.status, 1);
  assert.match(h.stderr, /\/nonexistent\/x\.sock/);
  const code = await served(['run', '--rm', 'busybox', 'sh', '-c', 'exit 7']);
  assert.equal(code.status, 7);
});

test('zygote: a terminal reaches run -it as a terminal', { skip }, async () => {
  await warm();
  const cmd = `${berthBin()} run -it --rm busybox sh -c 'test -t 0 && test -t 1 && echo IS-A-TTY'`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000, cwd: dir, env, input: '' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /IS-A-TTY/);
});

test('zygote: a run attached is copied by the front: output flows while the zygote is stopped; streams, TTY bytes, sizes and codes as the launcher\'s', { skip }, async () => {
  await warm();
  const child = spawn(berthBin(), ['run', '--rm', 'busybox', 'sh', '-c', 'for i in $(seq 1 30); do echo line $i; echo err $i >&2; sleep 0.05; done; exit 4'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (let i = 0; i < 200 && !out.includes('line 3\n'); i++) await sleep(50);
  assert.match(out, /line 3\n/, err);
  // the zygote serving this front holds the same stdout pipe
  const pipe = readlinkSync(`/proc/${child.pid}/fd/1`);
  const serving = zygotes().filter((p) => { try { return readlinkSync(`/proc/${p}/fd/1`) === pipe; } catch { return false; } });
  assert.equal(serving.length, 1, 'one zygote runs the command');
  process.kill(serving[0]!, 'SIGSTOP');
  const had = out.split('\n').length - 1;
  for (let i = 0; i < 200 && !out.includes('line 25\n'); i++) await sleep(50);
  process.kill(serving[0]!, 'SIGCONT');
  assert.match(out, /line 25\n/, `output went on while the zygote was stopped (${had} lines when it stopped)`);
  assert.equal(await exited, 4);
  assert.equal(out, Array.from({ length: 30 }, (_, i) => `line ${i + 1}\n`).join(''));
  assert.equal(err, Array.from({ length: 30 }, (_, i) => `err ${i + 1}\n`).join(''));

  // the same as the launcher's own reading: split streams, a TTY's bytes, a big stream, codes
  for (const args of [
    ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; printf tail; exit 3'],
    ['run', '--rm', '-t', 'busybox', 'sh', '-c', 'echo tty; exit 2'],
  ]) {
    const direct = berth(args, { extra: { BERTH_NO_ZYGOTE: '1' } });
    const warmRun = await served(args);
    assert.deepEqual({ status: warmRun.status, out: warmRun.stdout, err: warmRun.stderr }, { status: direct.status, out: direct.stdout, err: direct.stderr }, `berth ${args.slice(0, 4).join(' ')}`);
  }
  // 20 MB, read through a pipe (more than spawnSync would hold)
  const big = `set -o pipefail; "${berthBin()}" run --rm busybox sh -c 'head -c 20000000 /dev/zero | tr "\\0" x; echo; exit 6' | md5sum`;
  const bigDirect = spawnSync('bash', ['-c', big], { encoding: 'utf8', timeout: 60_000, cwd: dir, env: { ...env, BERTH_NO_ZYGOTE: '1' } });
  await warm();
  const bigWarm = spawnSync('bash', ['-c', big], { encoding: 'utf8', timeout: 60_000, cwd: dir, env });
  assert.equal(bigDirect.status, 6, bigDirect.stderr);
  assert.deepEqual([bigWarm.status, bigWarm.stdout], [6, bigDirect.stdout], '20 MB through the front: the same bytes and code');
});

test('zygote: a stale socket and a rebuilt bundle fall back and are replaced', { skip }, async () => {
  await warm();
  killZygotes();
  const sock = socketPath();
  assert.ok(sock !== undefined, 'the socket is left behind');
  const r = berth(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Berth version /);
  await warm();
  // a rebuild: a new bundle renamed into place; the warm zygote holds the old code
  const bundle = join(install, 'dist', 'berth.cjs');
  writeFileSync(`${bundle}.tmp`, readFileSync(bundle, 'utf8').replaceAll('Berth version', 'Berth rebuilt version'));
  renameSync(`${bundle}.tmp`, bundle);
  const n = berth(['--version']);
  assert.equal(n.status, 0, n.stderr);
  assert.match(n.stdout, /^Berth rebuilt version /);
  const again = await served(['--version']);
  assert.match(again.stdout, /^Berth rebuilt version /);
});

test('zygote: SIGINT to the front ends berth logs -f', { skip }, async () => {
  const id = berth(['run', '-d', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.2; done']).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const before = await warm();
  const child = spawn(berthBin(), ['logs', '-f', id], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (let i = 0; i < 100 && !out.includes('tick'); i++) await sleep(100);
  assert.match(out, /tick/);
  child.kill('SIGINT');
  const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
  assert.notEqual(code, 'timeout', 'logs -f did not end on SIGINT');
  assert.ok(code === 130 || code === 0, `exit ${String(code)}`);
  // the zygote that ran it is gone too
  for (let i = 0; i < 40 && before.every((p) => zygotes().includes(p)); i++) await sleep(50);
  assert.ok(before.some((p) => !zygotes().includes(p)), 'the command\'s zygote still runs');
});

test('zygote: two commands of one pipeline both run warm and end (berth save | berth load)', { skip }, async () => {
  // a command killed by a signal leaves no successor (its exit handlers do not run): the next one starts it
  berth(['--version']);
  await warm();
  const t0 = Date.now();
  // load starts first and takes the warm zygote; save comes a moment later and needs the next one
  const r = spawnSync('sh', ['-c', `(sleep 0.3; "${berthBin()}" save busybox) | "${berthBin()}" load`], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  const ms = Date.now() - t0;
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Loaded image: busybox:latest/);
  // the second command waits for a successor, not for the first command to end (that would
  // deadlock on the full pipe until the front gave up after 20 s)
  assert.ok(ms < 10_000, `the pipeline took ${ms} ms`);
});
