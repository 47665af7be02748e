/**
 * berth-vm under Debian's dockerd (`--add-runtime berth-vm=bin/berth-vm`,
 * through containerd's runc shim): `docker run --runtime berth-vm` prints
 * the guest kernel's release and returns the container's exit code; a
 * detached container takes `docker exec` and is removed with nothing left.
 * And under containerd alone: `ctr run --runc-binary bin/berth-vm`.
 * Skips when qemu or the guest kernel is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { CTR_NAMESPACE, Engines, IMAGE, type Result } from '../helpers/engines.js';
import { REPO } from '../helpers/runtime.js';
import { cachedKernel } from '../../src/vm/config.js';

const BIN = join(REPO, 'bin', 'berth-vm');
const kernel = process.env.BERTH_VM_KERNEL ?? cachedKernel('/var/cache/berth/vm')?.kernel;
const skip = !existsSync('/usr/bin/qemu-system-x86_64') ? 'needs qemu-system-x86'
  : !kernel ? 'needs the guest kernel (scripts/vm-kernel.sh)' : !existsSync(BIN) ? 'needs npm run build' : false;
let engines: Engines | undefined;
let ctrImage = '';
const T = { timeout: 150_000, skip };

before(async () => {
  if (skip) return;
  engines = await Engines.start({ dockerd: true, runtimes: { 'berth-vm': BIN } });
  engines.buildImage();
  ctrImage = engines.importIntoContainerd();
});

after(async () => {
  if (!engines) return;
  await engines.stop();
  assert.deepEqual(engines.leftovers(), [], 'the private engines left something behind');
});

const explain = (r: Result): string => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

test('docker run --runtime berth-vm: the guest kernel, the exit code', T, () => {
  const r = engines!.docker(['run', '--rm', '--runtime', 'berth-vm', IMAGE, 'sh', '-c', 'uname -r; exit 3'], { timeoutMs: 120_000 });
  assert.equal(r.code, 3, explain(r));
  assert.match(r.stdout, /-cloud-amd64\n$/, explain(r));
  assert.notEqual(r.stdout.trim(), release());
});

test('a detached berth-vm container: exec, rm -f, no qemu left', T, () => {
  const id = engines!.dockerOk(['run', '-d', '--runtime', 'berth-vm', IMAGE, 'sleep', '300'], { timeoutMs: 120_000 }).trim();
  const e = engines!.docker(['exec', id, 'sh', '-c', 'echo exec-in-vm; exit 4'], { timeoutMs: 60_000 });
  assert.equal(e.code, 4, explain(e));
  assert.equal(e.stdout, 'exec-in-vm\n');
  engines!.dockerOk(['rm', '-f', id], { timeoutMs: 60_000 });
});

test('ctr run --runc-binary berth-vm: containerd alone drives it; the guest kernel, the exit code, nothing left', T, () => {
  const e = engines!;
  const id = `vm-ctr-${process.pid}`;
  // state, FIFOs and cgroup under the engines' own paths, so stop() removes them and leftovers() sees them
  const r = e.ctr(['-n', CTR_NAMESPACE, 'run', '--rm', '--fifo-dir', e.fifoDir, '--cgroup', `${e.cgroupParent}/${id}`,
    '--runc-binary', BIN, '--runc-root', join(e.dir, 'ctr-vm-root'), ctrImage, id, 'sh', '-c', 'uname -r; exit 3'], { timeoutMs: 120_000 });
  assert.equal(r.code, 3, explain(r));
  assert.match(r.stdout, /-cloud-amd64\r?\n$/, explain(r));
  assert.notEqual(r.stdout.trim(), release());
  assert.equal(e.ctr(['-n', CTR_NAMESPACE, 'containers', 'ls', '-q']).stdout.trim(), '', 'ctr --rm removed the container');
  assert.equal(spawnSync('pgrep', ['-f', id]).status, 1, 'no qemu, virtiofsd or keeper of the container is left');
});
