/**
 * berth-vm's network: a container whose config names a network namespace
 * (made here as an engine would: a veth end addressed in it, a default
 * route) gets a tap joined to that interface by tc redirects; busybox httpd
 * in the guest answers the host at the namespace's address; after delete the
 * tap and the redirects are gone. Skips when qemu or the kernel is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBundle, removeBundle } from '../helpers/bundle.js';
import { REPO, isRoot } from '../helpers/runtime.js';
import { cachedKernel } from '../../src/vm/config.js';

const BIN = join(REPO, 'bin', 'berth-vm');
const kernel = process.env.BERTH_VM_KERNEL ?? cachedKernel('/var/cache/berth/vm')?.kernel;
const skip = !isRoot ? 'needs root' : !existsSync('/usr/bin/qemu-system-x86_64') ? 'needs qemu-system-x86'
  : !kernel ? 'needs the guest kernel (scripts/vm-kernel.sh)' : !existsSync(BIN) ? 'needs npm run build' : false;

const sh = (cmd: string): { status: number | null; out: string } => {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};

function vm(root: string, args: string[]): { code: number | null; stderr: string } {
  const errFile = join(root, `err-${args[0]}`);
  const fd = openSync(errFile, 'w');
  // create hands its stdio to the keeper: no pipes
  const r = spawnSync(BIN, ['--root', root, ...args], { stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  return { code: r.status, stderr: readFileSync(errFile, 'utf8') };
}

test('a VM in an engine-made network namespace serves the host through its tap', { skip, timeout: 120_000 }, async () => {
  const ns = `bvm${process.pid % 100000}`;
  const hostIf = `bvh${process.pid % 100000}`;
  const net = `10.${200 + (process.pid % 50)}.${process.pid % 250}`;
  const root = mkdtempSync(join(tmpdir(), 'berth-vm-net-it-'));
  const b = makeBundle(['httpd', '-f', '-p', '80', '-h', '/www'], 'berth-vm-net-bundle-');
  try {
    for (const c of [
      `ip netns add ${ns}`, `ip link add ${hostIf} type veth peer name eth0 netns ${ns}`,
      `ip addr add ${net}.1/24 dev ${hostIf}`, `ip link set ${hostIf} up`,
      `ip -n ${ns} addr add ${net}.2/24 dev eth0`, `ip -n ${ns} link set eth0 up`, `ip -n ${ns} link set lo up`,
      `ip -n ${ns} route add default via ${net}.1`,
    ]) assert.equal(sh(c).status, 0, c);
    mkdirSync(join(b.rootfs, 'www'));
    writeFileSync(join(b.rootfs, 'www', 'index.html'), 'page from the vm\n');
    b.config.linux.namespaces = b.config.linux.namespaces.map((n: { type: string }) => (n.type === 'network' ? { type: 'network', path: `/var/run/netns/${ns}` } : n));
    b.write();
    const c = vm(root, ['create', '--bundle', b.dir, 'web']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(sh(`ip -n ${ns} link show`).out, /tapweb/);
    assert.equal(vm(root, ['start', 'web']).code, 0);
    let page = '';
    for (let i = 0; i < 50 && !page.includes('page from the vm'); i++) {
      page = sh(`wget -T 2 -qO- http://${net}.2/`).out;
      if (!page.includes('page from the vm')) await sleep(200);
    }
    assert.equal(page, 'page from the vm\n');
    assert.equal(vm(root, ['delete', '--force', 'web']).code, 0);
    assert.doesNotMatch(sh(`ip -n ${ns} link show`).out, /tapweb/, 'the tap is removed');
    assert.doesNotMatch(sh(`tc -n ${ns} qdisc show dev eth0`).out, /ingress/, 'the redirects are removed');
    assert.equal(spawnSync('pgrep', ['-f', `${root}/web`]).status, 1, 'no qemu or virtiofsd left');
  } finally {
    vm(root, ['delete', '--force', 'web']);
    sh(`ip netns del ${ns}`);
    sh(`ip link del ${hostIf}`);
    removeBundle(b);
    rmSync(root, { recursive: true, force: true });
  }
});
