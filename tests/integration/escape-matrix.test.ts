/**
 * The escape battery (tests/helpers/escapes.ts) under every runtime, each in
 * two configurations: Docker's defaults (its capabilities and seccomp
 * profile) and privileged-like (every capability, no seccomp, no masked
 * paths, every device — `weaken`). Two more attempts leave a mark the host
 * can see if they reach it (the hostname, a file created at the root of the
 * host's disk), and after every container the host is checked: hostname,
 * kernel.core_pattern, no mount of the battery's mount points in the host's
 * namespace, no mark file.
 *
 * Expected: berth-runtime with Docker's defaults refuses all but what
 * Docker's defaults allow on purpose (raw and packet sockets with
 * CAP_NET_RAW, chroot with CAP_SYS_CHROOT inside the container's own root,
 * the host's /proc/meminfo); privileged-like berth-runtime is the control
 * (most attempts work, and the mark reaches the host's disk, which shows the
 * host-side check can fail). berth-sandbox refuses every attempt in both
 * configurations; berth-vm may let an attempt work inside its VM but none
 * may reach the host. A table per runtime is printed.
 * Needs root and `npm run build`; berth-vm is skipped, with its reason,
 * when it cannot run a container on this machine.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { dockerDefaults, escapeBattery, escapeBinary, hostEffectAttempts, removeEscapeBinary, weaken, type Escape } from '../helpers/escapes.js';
import { isRoot, REPO, RUNTIME, Runtime } from '../helpers/runtime.js';

const SANDBOX = join(REPO, 'bin', 'berth-sandbox');
const VM = join(REPO, 'bin', 'berth-vm');
const skip = !isRoot || !existsSync(RUNTIME) || !existsSync(SANDBOX) ? 'needs root and npm run build' : false;

type Mode = 'default' | 'privileged';
type Outcome = 'refused' | 'contained' | 'reached host' | 'escaped';
interface Row { attempt: string; outcome: Outcome; detail: string }

/** What Docker's defaults let through by design; each is inside the container's own namespaces. */
const DOCKER_DEFAULTS_ALLOW = new Set(['AF_PACKET socket', 'raw socket', 'chroot escape', 'host memory info']);

const bundles: Bundle[] = [];
const runtimes: Runtime[] = [];
const marks: string[] = [];
let hostProc: ReturnType<typeof spawn> | undefined;

after(() => {
  for (const r of runtimes) r.cleanup();
  for (const b of bundles) removeBundle(b);
  for (const m of marks) rmSync(join('/', m), { force: true });
  hostProc?.kill('SIGKILL');
  removeEscapeBinary();
});

interface HostView { hostname: string; corePattern: string; batteryMounts: string[] }

function hostView(): HostView {
  // mount points the battery uses inside a container; in the host's namespace (pid 1's) they must never appear
  const batteryMounts = readFileSync('/proc/1/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4] ?? '').filter((m) => /^\/tmp\/(m[1-4]|cj)$/.test(m));
  return { hostname: hostname(), corePattern: readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), batteryMounts };
}

function bundleFor(script: string, mode: Mode, hostPid: boolean): Bundle {
  const b = makeBundle(['sh', '-c', script], 'berth-escmatrix-');
  bundles.push(b);
  copyFileSync(escapeBinary(), join(b.rootfs, 'escape'));
  chmodSync(join(b.rootfs, 'escape'), 0o755);
  // a memory limit in both, as `docker run -m`: a sandbox shows it as the machine's memory
  if (mode === 'default') {
    dockerDefaults(b.config, { hostPid });
    b.config.linux.resources = { ...b.config.linux.resources, memory: { limit: 256 << 20 } };
  } else weaken(b.config, { hostPid, memoryLimit: 256 << 20 });
  b.write();
  return b;
}

/** Runs the attempts in one container (`run`, output captured); one ESCAPED/REFUSED line per attempt. */
function runAttempts(binary: string, set: Escape[], mode: Mode, hostPid: boolean, id: string): string[] {
  const script = set.map((e) => `/escape ${e.args.join(' ')}`).join('; ');
  const b = bundleFor(script, mode, hostPid);
  const rt = new Runtime(binary);
  runtimes.push(rt);
  const r = rt.run(['run', '--bundle', b.dir, id], { timeoutMs: 180_000 });
  const lines = r.stdout.split('\n').filter((l) => /^(ESCAPED|REFUSED)/.test(l));
  assert.equal(lines.length, set.length, `${binary} ${mode}: one line per attempt (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  return lines;
}

/** The whole battery under one runtime and configuration, with the host checked after each container. */
function matrix(binary: string, mode: Mode, tag: string): Row[] {
  const battery = escapeBattery(hostProc!.pid!);
  const effects = hostEffectAttempts(tag);
  marks.push(effects.mark);
  const rows: Row[] = [];
  for (const hostPid of [false, true]) {
    const set = [...battery.filter((e) => Boolean(e.hostPid) === hostPid), ...(hostPid ? [] : effects.attempts)];
    const before = hostView();
    const lines = runAttempts(binary, set, mode, hostPid, `${tag}${hostPid ? 'pid' : ''}`);
    const afterView = hostView();
    const markOnHost = existsSync(join('/', effects.mark));
    assert.equal(afterView.corePattern, before.corePattern, 'the host\'s core_pattern is unchanged');
    assert.deepEqual(afterView.batteryMounts, [], 'no mount of the battery appeared in the host\'s namespace');
    set.forEach((e, i) => {
      const line = lines[i]!;
      let outcome: Outcome = line.startsWith('REFUSED') ? 'refused' : 'escaped';
      if (e.args[0] === 'sethostname' && outcome === 'escaped') outcome = afterView.hostname === effects.hostname ? 'reached host' : 'contained';
      if (e.args[0] === 'hostmark' && outcome === 'escaped') outcome = markOnHost ? 'reached host' : 'contained';
      // a VM's kernel is not the host's: what works there is contained unless the host-side checks above saw it
      if (binary === VM && outcome === 'escaped') outcome = 'contained';
      rows.push({ attempt: e.name, outcome, detail: line });
    });
    // the control may reach the host's hostname: put it back before anything else notices
    if (hostname() !== before.hostname) spawnSync('hostname', [before.hostname]);
  }
  printTable(`${binary.split('/').pop()!} (${mode})`, rows);
  return rows;
}

function printTable(title: string, rows: Row[]): void {
  const w = Math.max(...rows.map((r) => r.attempt.length));
  const refused = rows.filter((r) => r.outcome === 'refused' || r.outcome === 'contained').length;
  const lines = [`escape battery under ${title}: ${refused}/${rows.length} refused or contained`,
    ...rows.map((r) => `  ${r.attempt.padEnd(w)}  ${r.outcome.padEnd(12)}  ${r.detail}`)];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const outcomeOf = (rows: Row[], attempt: string): Outcome => rows.find((r) => r.attempt === attempt)!.outcome;

/** Whether berth-vm runs a container here (a VM boots, the command's output comes back); the reason when not. */
function vmWorks(): string | false {
  if (!existsSync(VM)) return 'bin/berth-vm is not built';
  const b = makeBundle(['sh', '-c', 'echo vm-ok'], 'berth-escmatrix-');
  bundles.push(b);
  const rt = new Runtime(VM);
  runtimes.push(rt);
  // its own boot timeout is 60 s; a little more for the rest of `run`
  const r = rt.run(['run', '--bundle', b.dir, 'vmprobe'], { timeoutMs: 75_000 });
  if (r.code === 0 && r.stdout.includes('vm-ok')) return false;
  return `berth-vm cannot run a container here: ${(r.stderr.trim() || `no result within 75 s (exit ${r.code})`).split('\n').at(-1)}`;
}

describe('the escape battery under every runtime', { skip, timeout: 600_000 }, () => {
  before(() => {
    // a host process whose /proc/<pid>/root leads to the host's /
    hostProc = spawn('sleep', ['600'], { stdio: 'ignore' });
    escapeBinary();
  });

  test('berth-runtime with Docker\'s defaults refuses all but what those defaults allow', () => {
    const rows = matrix(RUNTIME, 'default', 'rtdef');
    for (const r of rows) {
      if (DOCKER_DEFAULTS_ALLOW.has(r.attempt)) continue;
      assert.ok(r.outcome === 'refused', `${r.attempt} must be refused under Docker's defaults: ${r.detail}`);
    }
  });

  test('berth-runtime privileged-like lets most through (the control) and the mark reaches the host', () => {
    const rows = matrix(RUNTIME, 'privileged', 'rtpriv');
    const through = rows.filter((r) => r.outcome !== 'refused');
    assert.ok(through.length >= rows.length - 2, `most attempts work in a privileged-like container: ${through.map((r) => r.attempt).join(', ')}`);
    assert.equal(outcomeOf(rows, 'create a file on the host disk'), 'reached host', 'the host-side check sees a real escape');
    assert.equal(outcomeOf(rows, 'sethostname'), 'contained', 'the container has its own UTS namespace');
  });

  for (const mode of ['default', 'privileged'] as const) {
    test(`berth-sandbox (${mode}) refuses every attempt`, () => {
      const rows = matrix(SANDBOX, mode, `sbx${mode.slice(0, 4)}`);
      for (const r of rows) {
        const ok = r.outcome === 'refused' || (r.attempt === 'sethostname' && r.outcome === 'contained');
        assert.ok(ok, `${r.attempt} must be refused under berth-sandbox (${mode}): ${r.detail}`);
      }
    });
  }

  describe('berth-vm', () => {
    let vmSkip: string | false = 'not probed';
    before(() => { vmSkip = vmWorks(); if (vmSkip) process.stdout.write(`berth-vm skipped: ${vmSkip}\n`); });
    for (const mode of ['default', 'privileged'] as const) {
      test(`berth-vm (${mode}): nothing reaches the host`, (t) => {
        if (vmSkip) { t.skip(vmSkip); return; }
        const rows = matrix(VM, mode, `vm${mode.slice(0, 4)}`);
        for (const r of rows) {
          assert.ok(r.outcome !== 'reached host', `${r.attempt} must not reach the host from berth-vm (${mode}): ${r.detail}`);
        }
      });
    }
  });
});
