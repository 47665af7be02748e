/**
 * Issue 8's scenario with the real image: the Debian nginx root filesystem
 * (tests/helpers/nginx-image.ts, cached) imported into berthd, then driven by
 * the `berth` CLI: `run -d --runtime berth-vm -p 127.0.0.1:PORT:80 --name
 * web nginx` serves nginx's default page from inside the VM through the
 * published port and the tap; logs show the request, exec runs in the VM,
 * stop gives the exit code berth-runtime would, and after rm no qemu,
 * virtiofsd, keeper or tap of the container is left.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { corePids, layout, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';
import { nginxRootfsTar, nginxSkip } from '../helpers/nginx-image.js';
import { freePort } from '../helpers/registry.js';
import { REPO } from '../helpers/runtime.js';
import { cachedKernel } from '../../src/vm/config.js';
import { tapName } from '../../src/vm/network.js';

const BERTH = join(REPO, 'bin', 'berth');
const kernel = process.env.BERTH_VM_KERNEL ?? cachedKernel('/var/cache/berth/vm')?.kernel;
const skip = skipBerthd || nginxSkip || (!existsSync('/usr/bin/qemu-system-x86_64') ? 'needs qemu-system-x86'
  : !kernel ? 'needs the guest kernel (scripts/vm-kernel.sh)' : !existsSync(join(REPO, 'bin', 'berth-vm')) ? 'needs npm run build' : false);
/** Debian's nginx logs to files: the CMD points them at the container's stdout/stderr, as the demo's image does. */
const NGINX_CMD = 'CMD ["sh","-c","ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log && exec nginx -g \\"daemon off;\\""]';
let dir = '';
let l: Layout;
let b: Berthd;

function berth(args: string[], timeout = 60_000): SpawnSyncReturns<string> {
  return spawnSync(BERTH, ['-H', `unix://${b.sock}`, ...args], { encoding: 'utf8', timeout });
}

function ok(args: string[], timeout?: number): string {
  const r = berth(args, timeout);
  assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.stderr}${r.error ? ` (${r.error.message})` : ''}`);
  return r.stdout;
}

async function page(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
      const text = await res.text();
      if (res.status === 200) return text;
      last = `status ${res.status}`;
    } catch (err) { last = err; }
    await sleep(500);
  }
  throw new Error(`no page on 127.0.0.1:${port} within ${timeoutMs} ms: ${String(last)}`);
}

const hostTaps = (): string[] => spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout
  .split('\n').map((line) => line.split(': ')[1]?.split('@')[0] ?? '').filter((n) => n.startsWith('tap'));

before(async () => {
  if (skip) return;
  dir = mkdtempSync('/tmp/bvmn-');
  l = layout(dir);
  b = await ready(spawnBerthd(l));
  ok(['import', '--change', NGINX_CMD, '--change', 'EXPOSE 80', nginxRootfsTar(), 'nginx:latest'], 300_000);
});

after(async () => {
  if (skip) return;
  const ids = berth(['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) berth(['rm', '-f', ...ids]);
  try {
    await stop(b);
  } finally {
    for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    spawnSync('umount', ['-R', '-l', l.execRoot]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('berth run -d --runtime berth-vm -p …:80 nginx serves the Debian nginx page from the VM; logs, exec, stop, rm', { skip, timeout: 300_000 }, async () => {
  const tapsBefore = hostTaps();
  const port = await freePort();
  const id = ok(['run', '-d', '--runtime', 'berth-vm', '-p', `127.0.0.1:${port}:80`, '--name', 'web', 'nginx'], 120_000).trim();
  assert.match(id, /^[0-9a-f]{64}$/);

  assert.match(await page(port, 120_000), /<title>Welcome to nginx!<\/title>/);
  let logs = '';
  for (let i = 0; i < 40 && !logs.includes('"GET / HTTP/1.1" 200'); i++) {
    logs = ok(['logs', 'web']);
    if (!logs.includes('"GET / HTTP/1.1" 200')) await sleep(250);
  }
  assert.match(logs, /"GET \/ HTTP\/1\.1" 200 /, `logs: ${logs}`);

  // exec reaches the VM: nginx prints its version on stderr, which exec carries back apart from stdout
  const v = berth(['exec', 'web', 'nginx', '-v']);
  assert.equal(v.status, 0, `exec: ${v.stderr}`);
  assert.match(v.stderr, /^nginx version: nginx\/1\.\d+\.\d+\n$/);
  assert.notEqual(ok(['exec', 'web', 'uname', '-r']).trim(), spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim(), 'exec runs in the guest kernel');

  // the tap lives in the container's network namespace (berthd's files under <exec-root>/netns), never on the host
  const nsDir = join(l.execRoot, 'netns');
  const inNs = readdirSync(nsDir).map((n) => spawnSync('nsenter', [`--net=${join(nsDir, n)}`, 'ip', '-o', 'link', 'show'], { encoding: 'utf8' }).stdout);
  assert.ok(inNs.some((links) => links.includes(`${tapName(id)}:`)), `tap ${tapName(id)} in the container's namespace: ${inNs.join('\n')}`);
  assert.ok(!hostTaps().includes(tapName(id)), 'the tap is not on the host');

  ok(['stop', 'web'], 60_000);
  assert.equal(ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'web']).trim(), 'exited 0', 'nginx quits on SIGTERM with 0');
  ok(['rm', 'web']);
  for (let i = 0; i < 50 && spawnSync('pgrep', ['-f', id]).status === 0; i++) await sleep(100);
  assert.equal(spawnSync('pgrep', ['-f', id]).status, 1, 'no qemu, virtiofsd or keeper of the container is left');
  assert.equal(berth(['inspect', 'web']).status, 1, 'the container is gone');
  assert.deepEqual(hostTaps().filter((t) => !tapsBefore.includes(t)), [], 'no tap is left on the host');
  assert.equal(spawnSync('ip', ['-o', 'link', 'show', tapName(id)]).status !== 0, true, 'the tap is gone');
});
