/**
 * berth-sandbox under Debian's dockerd: registered with
 * `--add-runtime berth-sandbox=bin/berth-sandbox`, a container run with
 * `--runtime berth-sandbox` works, sees the sandbox's kernel name, and is
 * refused what CAP_SYS_ADMIN without Docker's seccomp profile would allow.
 * And under containerd alone: `ctr run --runc-binary bin/berth-sandbox`.
 * One private dockerd serves the file; `after` checks nothing is left.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CTR_NAMESPACE, Engines, IMAGE, type Result } from '../helpers/engines.js';
import { REPO } from '../helpers/runtime.js';

const SANDBOX = join(REPO, 'bin', 'berth-sandbox');
let engines: Engines;
let ctrImage = '';
const T = { timeout: 90_000 };

before(async () => {
  assert.ok(existsSync(SANDBOX), `${SANDBOX} is missing: run npm run build first`);
  engines = await Engines.start({ dockerd: true, runtimes: { 'berth-sandbox': SANDBOX } });
  engines.buildImage();
  ctrImage = engines.importIntoContainerd();
});

after(async () => {
  if (!engines) return;
  await engines.stop();
  assert.deepEqual(engines.leftovers(), [], 'the private engines left something behind');
  assert.deepEqual(supervisors(), [], 'no supervisor outlives its container');
});

/** Supervisors holding a file under the engines' directory (their audit logs live in the runtime's state there). */
function supervisors(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (!readFileSync(`/proc/${d}/comm`, 'utf8').startsWith('berth-sandbox-s')) continue;
      if (readdirSync(`/proc/${d}/fd`).some((fd) => readlinkSync(`/proc/${d}/fd/${fd}`).startsWith(engines.dir))) out.push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

function explain(r: Result): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

test('docker run --runtime berth-sandbox runs a container under the supervisor', T, () => {
  const r = engines.docker(['run', '--rm', '--runtime', 'berth-sandbox', IMAGE, 'sh', '-c', 'uname -r; echo hi | tr a-z A-Z; ls /etc | grep -c passwd'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, explain(r));
  assert.equal(r.stdout, '6.1.0-berth-sandbox\nHI\n1\n', explain(r));
});

// (not --privileged: this machine's own bounding set lacks CAP_SYS_RESOURCE, so no runtime can grant every capability)
test('with CAP_SYS_ADMIN and no seccomp profile, berth-sandbox still refuses mount and unshare', T, () => {
  const r = engines.docker(['run', '--rm', '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined', '--runtime', 'berth-sandbox', IMAGE, 'sh', '-c',
    'mount -t tmpfs none /mnt; echo mount=$?; unshare -U true; echo unshare=$?'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /mount=[1-9]/, explain(r));
  assert.match(r.stdout, /unshare=[1-9]/, explain(r));
});

test('a detached sandboxed container is stopped and removed', T, () => {
  const id = engines.dockerOk(['run', '-d', '--runtime', 'berth-sandbox', IMAGE, 'sleep', '300']).trim();
  assert.equal(engines.dockerOk(['exec', id, 'uname', '-r']), '6.1.0-berth-sandbox\n');
  engines.dockerOk(['rm', '-f', id]);
});

test('ctr run --runc-binary berth-sandbox: containerd alone drives it; the sandbox\'s kernel name, the exit code, nothing left', T, () => {
  const id = `sbx-ctr-${process.pid}`;
  // state, FIFOs and cgroup under the engines' own paths, so stop() removes them and leftovers() sees them
  const r = engines.ctr(['-n', CTR_NAMESPACE, 'run', '--rm', '--fifo-dir', engines.fifoDir, '--cgroup', `${engines.cgroupParent}/${id}`,
    '--runc-binary', SANDBOX, '--runc-root', join(engines.dir, 'ctr-sandbox-root'), ctrImage, id, 'sh', '-c', 'uname -r; mount -t tmpfs none /mnt 2>/dev/null; exit 3'], { timeoutMs: 60_000 });
  assert.equal(r.code, 3, explain(r));
  assert.equal(r.stdout.replace(/\r/g, ''), '6.1.0-berth-sandbox\n', explain(r));
  assert.equal(engines.ctr(['-n', CTR_NAMESPACE, 'containers', 'ls', '-q']).stdout.trim(), '', 'ctr --rm removed the container');
  assert.equal(spawnSync('pgrep', ['-f', id]).status, 1, 'nothing of the container is left running');
  assert.deepEqual(supervisors(), [], 'no supervisor outlives its container');
});
