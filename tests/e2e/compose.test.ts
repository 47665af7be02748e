/**
 * Debian's docker-compose 1.29 (which drives the Engine API through
 * docker-py) against berthd: a two-service file — web (busybox httpd
 * serving a page) and client (a loop fetching http://web/ by service name)
 * — comes up, `ps` shows both Up, `logs client` shows the page, and `down`
 * removes the containers and the project network, leaving nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { networkInstance } from '../../src/daemon/network/setup.js';
import { corePids, docker, layout, leftovers, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';

const COMPOSE = '/usr/bin/docker-compose';
const skip = skipBerthd || (!existsSync(COMPOSE) ? `needs ${COMPOSE} (Debian docker-compose)` : false);
const PROJECT = 'berthcompose';

const FILE = `version: "3.8"
services:
  web:
    image: busybox:latest
    stop_grace_period: 1s
    command: ["sh", "-c", "mkdir -p /www && echo 'page served by web' > /www/index.html && exec httpd -f -p 80 -h /www"]
  client:
    image: busybox:latest
    stop_grace_period: 1s
    depends_on: [web]
    command: ["sh", "-c", "while true; do wget -q -O - http://web/ && sleep 1 || sleep 0.2; done"]
`;

let dir: string;
let l: Layout;
let b: Berthd;

function compose(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(COMPOSE, ['-p', PROJECT, ...args], {
    cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DOCKER_HOST: `unix://${l.sock}`, COMPOSE_INTERACTIVE_NO_CLI: '1' },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function ok(args: string[]): string {
  const r = compose(args);
  assert.equal(r.status, 0, `docker-compose ${args.join(' ')}: ${r.out}`);
  return r.out;
}

function importBusybox(): void {
  const root = join(dir, 'rootfs');
  for (const sub of ['bin', 'tmp', 'etc']) mkdirSync(join(root, sub), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n')) {
    if (a !== '' && a !== 'busybox') symlinkSync('busybox', join(root, 'bin', a));
  }
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  const tar = join(dir, 'busybox.tar');
  assert.equal(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status, 0);
  const r = docker(l.sock, ['import', '-c', 'ENV PATH=/bin', '-c', 'CMD ["sh"]', tar, 'busybox:latest']);
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'compose-'));
  l = { ...layout(dir), execRoot: mkdtempSync('/run/bq') };
  b = await ready(spawnBerthd(l));
  importBusybox();
  writeFileSync(join(dir, 'docker-compose.yml'), FILE);
});

after(async () => {
  if (skip) return;
  compose(['down', '-t', '1']);
  await stop(b);
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  await new Promise((r) => setTimeout(r, 300));
  const inst = networkInstance(l.execRoot);
  for (const t of [`inet ${inst.table}`, `ip ${inst.table}-nat`, `bridge ${inst.table}`]) spawnSync('nft', ['delete', 'table', ...t.split(' ')]);
  spawnSync('ip', ['link', 'del', inst.bridge]);
  spawnSync('sh', ['-c', `grep -oE ' (${dir}|${l.execRoot})[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
  assert.deepEqual(leftovers(l), [], 'processes left behind');
  rmSync(dir, { recursive: true, force: true });
  rmSync(l.execRoot, { recursive: true, force: true });
});

test('docker-compose up -d, ps, logs and down against berthd', { skip }, async () => {
  const up = ok(['up', '-d']);
  assert.match(up, /Creating network "berthcompose_default" with the default driver/);
  assert.match(up, /Creating berthcompose_web_1\s+\.\.\. done/);
  assert.match(up, /Creating berthcompose_client_1\s+\.\.\. done/);

  const ps = ok(['ps']).split('\n');
  assert.match(ps.find((x) => x.startsWith('berthcompose_web_1')) ?? '', /\sUp\s*$/);
  assert.match(ps.find((x) => x.startsWith('berthcompose_client_1')) ?? '', /\sUp\s*$/);
  assert.deepEqual(ok(['ps', '--services']).trim().split('\n').sort(), ['client', 'web']);

  // the client reaches web by its service name through the project network
  let logs = '';
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    logs = ok(['logs', '--no-color', 'client']);
    if (logs.includes('page served by web')) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.match(logs, /^client_1\s+\| page served by web$/m);
  const net = docker(l.sock, ['network', 'inspect', '-f', '{{.Name}} {{index .Labels "com.docker.compose.project"}}', 'berthcompose_default']);
  assert.equal(net.stdout, 'berthcompose_default berthcompose\n', net.stderr);

  const down = ok(['down', '-t', '1']);
  assert.match(down, /Removing berthcompose_web_1\s+\.\.\. done/);
  assert.match(down, /Removing berthcompose_client_1\s+\.\.\. done/);
  assert.match(down, /Removing network berthcompose_default/);
  assert.equal(docker(l.sock, ['ps', '-aq']).stdout, '', 'no container left');
  assert.deepEqual(docker(l.sock, ['network', 'ls', '--format', '{{.Name}}']).stdout.trim().split('\n').sort(), ['bridge', 'host', 'none']);
});
