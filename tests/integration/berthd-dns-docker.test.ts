/**
 * The embedded DNS server through berthd and the real docker CLI: two
 * containers on a user network (`docker network create`) resolve each
 * other by name, alias and short id and fetch each other's page by name; a
 * container on another network cannot resolve them; an outside name goes to
 * a resolver the test runs on 127.0.0.1 (BERTHD_DNS_UPSTREAM), so traffic
 * stays on loopback; after removal no listener and no rule is left.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UPSTREAM_ENV } from '../../src/daemon/dns/index.js';
import { corePids, docker, dockerOk, layout, leftovers, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';

const skip = skipBerthd;

let dir: string;
let l: Layout;
let b: Berthd;
let upstream: { proc: ChildProcess; port: number } | undefined;

const ok = (args: string[]): string => dockerOk(b.sock, args).trim();

function run(args: string[]): { status: number | null; out: string } {
  const r = docker(b.sock, args);
  return { status: r.status, out: r.stdout + r.stderr };
}

/** A one-off container on `net` (berthd's exec is not there yet: each asker is a container of its own). */
function inNet(net: string, cmd: string[]): { status: number | null; out: string } {
  return run(['run', '--rm', '--network', net, 'busybox', ...cmd]);
}

function buildImage(): string {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'www']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  const applets = spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
  // the static busybox cannot use glibc's resolver (it crashes in getaddrinfo): the host's
  // dynamic wget and getent, with their libraries, resolve through resolv.conf as any program does
  for (const bin of ['/usr/bin/wget', '/usr/bin/getent']) copyWithLibs(root, bin);
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
  const tar = join(dir, 'busybox.tar');
  assert.equal(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status, 0);
  rmSync(root, { recursive: true, force: true });
  return tar;
}

function copyWithLibs(root: string, bin: string): void {
  const libs = spawnSync('ldd', [bin], { encoding: 'utf8' }).stdout.split('\n')
    .map((line) => /(\/\S+)\s+\(0x/.exec(line)?.[1]).filter((x): x is string => x !== undefined);
  for (const f of [bin, ...libs]) {
    mkdirSync(join(root, dirname(f)), { recursive: true });
    copyFileSync(f, join(root, f));
    chmodSync(join(root, f), 0o755);
  }
}

/**
 * A resolver on 127.0.0.1 that knows one outside name, in a process of its
 * own: the test's event loop waits in the docker CLI while it must answer.
 */
async function startUpstream(): Promise<{ proc: ChildProcess; port: number }> {
  const script = `
    const dns = require(${JSON.stringify(join(process.cwd(), 'node_modules', 'dns-packet'))});
    const s = require('dgram').createSocket('udp4');
    s.on('message', (m, r) => {
      const q = dns.decode(m);
      const name = q.questions[0].name;
      const known = name === 'outside.berth.test' && q.questions[0].type === 'A';
      s.send(dns.encode({ type: 'response', id: q.id, flags: dns.RECURSION_AVAILABLE | (known ? 0 : 3), questions: q.questions,
        answers: known ? [{ type: 'A', name, ttl: 60, data: '192.0.2.77' }] : [] }), r.port, r.address);
    });
    s.bind(0, '127.0.0.1', () => console.log(s.address().port));`;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    proc.once('exit', () => reject(new Error('the test resolver exited')));
  });
  return { proc, port };
}

/** UDP/TCP sockets bound on `ip`, as ss sees them. */
function listenersOn(ip: string): string {
  return spawnSync('ss', ['-Hlnut', 'src', ip], { encoding: 'utf8' }).stdout.trim();
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync('/tmp/d-');
  l = layout(dir);
  upstream = await startUpstream();
  process.env[UPSTREAM_ENV] = `127.0.0.1:${upstream.port}`;
  b = await ready(spawnBerthd(l));
  delete process.env[UPSTREAM_ENV];
  ok(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/bin', buildImage(), 'busybox:latest']);
});

after(async () => {
  if (skip) return;
  const ids = docker(b.sock, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) docker(b.sock, ['rm', '-f', ...ids]);
  for (const n of ['dnsfront', 'dnsback']) docker(b.sock, ['network', 'rm', n]);
  await stop(b);
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  upstream?.proc.kill();
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((x) => x.split(' ')[1] ?? '').filter((m) => m.startsWith(`${dir}/`)).sort().reverse();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(leftovers(l), []);
});

test('containers on a user network find each other by name, alias and short id; others do not', { skip }, async () => {
  ok(['network', 'create', '--subnet', '10.252.71.0/24', 'dnsfront']);
  ok(['network', 'create', '--subnet', '10.252.72.0/24', 'dnsback']);
  const web = ok(['run', '-d', '--name', 'web', '--network', 'dnsfront', '--network-alias', 'site', 'busybox',
    'sh', '-c', 'echo hello from web > /www/index.html && exec httpd -f -p 8080 -h /www']);
  ok(['run', '-d', '--name', 'client', '--network', 'dnsfront', 'busybox', 'sleep', '300']);
  ok(['run', '-d', '--name', 'stranger', '--network', 'dnsback', 'busybox', 'sleep', '300']);
  const webIp = ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "dnsfront").IPAddress}}', 'web']);
  assert.match(webIp, /^10\.252\.71\.\d+$/);
  assert.match(inNet('dnsfront', ['cat', '/etc/resolv.conf']).out, /nameserver 127\.0\.0\.11/);
  for (const name of ['web', 'site', web.slice(0, 12), 'WEB']) {
    const r = inNet('dnsfront', ['nslookup', '-type=a', name]);
    assert.match(r.out, new RegExp(`Address:\\s+${webIp.replace(/\./g, '\\.')}\\b`), `${name}: ${r.out}`);
  }
  const clientIp = ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "dnsfront").IPAddress}}', 'client']);
  assert.match(inNet('dnsfront', ['nslookup', '-type=a', 'client']).out, new RegExp(`Address:\\s+${clientIp.replace(/\./g, '\\.')}\\b`));
  const page = inNet('dnsfront', ['/usr/bin/wget', '-qO-', '-T', '5', 'http://web:8080/']);
  assert.equal(page.out, 'hello from web\n', page.out);
  const byAlias = inNet('dnsfront', ['/usr/bin/getent', 'ahostsv4', 'site']);
  assert.match(byAlias.out, new RegExp(`^${webIp.replace(/\./g, '\\.')}\\s`, 'm'), byAlias.out);
  const stranger = inNet('dnsback', ['nslookup', '-type=a', 'web']);
  assert.doesNotMatch(stranger.out, new RegExp(webIp.replace(/\./g, '\\.')), stranger.out);
  assert.match(stranger.out, /NXDOMAIN|can't find/, stranger.out);
});

test('outside names go to the host side resolver', { skip }, () => {
  assert.match(inNet('dnsfront', ['nslookup', '-type=a', 'outside.berth.test']).out, /Address:\s+192\.0\.2\.77\b/);
});

test('removal leaves no listener and no rule', { skip }, () => {
  const gw = ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'dnsfront']);
  assert.match(listenersOn(gw), /:53\b/);
  ok(['rm', '-f', 'web', 'client', 'stranger']);
  assert.equal(listenersOn(gw), '');
  ok(['network', 'rm', 'dnsfront', 'dnsback']);
  assert.equal(listenersOn(gw), '');
});
