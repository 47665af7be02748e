/**
 * The issue's own scenario through the whole stack: `docker run -d
 * --runtime berth-vm -p 127.0.0.1:PORT:80` of busybox httpd against berthd
 * (berth-vm is in berthd's default runtime table), the page served from
 * inside the VM through the published port and the tap, logs, a `docker
 * stop` exit code, and nothing of the VM left after `docker rm`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { corePids, docker, dockerOk, layout, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';
import { REPO } from '../helpers/runtime.js';
import { cachedKernel } from '../../src/vm/config.js';

const kernel = process.env.BERTH_VM_KERNEL ?? cachedKernel('/var/cache/berth/vm')?.kernel;
const skip = skipBerthd || (!existsSync('/usr/bin/qemu-system-x86_64') ? 'needs qemu-system-x86'
  : !kernel ? 'needs the guest kernel (scripts/vm-kernel.sh)' : !existsSync(join(REPO, 'bin', 'berth-vm')) ? 'needs npm run build' : false);
let dir = '';
let l: Layout;
let b: Berthd;

const ok = (args: string[]): string => dockerOk(b.sock, args);

function busyboxTar(): string {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'www']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'httpd', 'echo', 'uname']) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'www', 'index.html'), 'served from the vm\n');
  const tar = join(dir, 'busybox.tar');
  assert.equal(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status, 0);
  return tar;
}

const freePort = (): Promise<number> => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
});

before(async () => {
  if (skip) return;
  dir = mkdtempSync('/tmp/bvm-');
  l = layout(dir);
  b = await ready(spawnBerthd(l));
  ok(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/bin', busyboxTar(), 'vmbox:latest']);
});

after(async () => {
  if (skip) return;
  const ids = docker(b.sock, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) docker(b.sock, ['rm', '-f', ...ids]);
  try {
    await stop(b);
  } finally {
    for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    spawnSync('umount', ['-R', '-l', l.execRoot]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('berth run -d --runtime berth-vm -p …:80 serves the page from the VM; logs, stop, rm', { skip, timeout: 180_000 }, async () => {
  const port = await freePort();
  const id = ok(['run', '-d', '--runtime', 'berth-vm', '-p', `127.0.0.1:${port}:80`, 'vmbox:latest',
    'sh', '-c', 'echo kernel $(uname -r); exec httpd -f -p 80 -h /www']).trim();
  let page = '';
  for (let i = 0; i < 60 && !page.includes('served from the vm'); i++) {
    page = spawnSync('/bin/busybox', ['nc', '-w', '3', '127.0.0.1', String(port)], { encoding: 'utf8', input: 'GET / HTTP/1.0\r\n\r\n', timeout: 10_000 }).stdout;
    if (!page.includes('served from the vm')) await sleep(250);
  }
  assert.match(page, /^HTTP\/1\.[01] 200 OK\r\n[\s\S]*\r\n\r\nserved from the vm\n$/);
  assert.match(ok(['logs', id]), /^kernel \S+-cloud-amd64\n/);
  ok(['stop', '-t', '2', id]);
  const exit = ok(['inspect', '--format', '{{.State.ExitCode}}', id]).trim();
  assert.ok(['143', '137'].includes(exit), `exit code ${exit}`);
  ok(['rm', id]);
  for (let i = 0; i < 30 && spawnSync('pgrep', ['-f', `qemu-system.*${id}`]).status === 0; i++) await sleep(100);
  assert.equal(spawnSync('pgrep', ['-f', id]).status, 1, 'no qemu, virtiofsd or keeper of the container is left');
});
