/**
 * berthd's networking driven by the real docker CLI: published ports on
 * 127.0.0.1 and from a "test host" namespace, UDP, user networks, isolation,
 * --internal, container:/host modes, a taken port, the network commands, and
 * a leak count around kill -9 of berthd and a restart. Traffic goes only to
 * loopback and to addresses inside namespaces this test makes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { networkInstance } from '../../src/daemon/network/setup.js';
import { corePids, docker, dockerOk, layout, networkLeftovers, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';

const skip = skipBerthd;
let dir: string;
let l: Layout;
let b: Berthd;
/** the test host: a namespace file with a veth to the host (10.250.N.1 host side, .2 inside) */
let hostNs = '';
let hostVeth = '';
let subnet = 0;
let listener: ChildProcess | undefined;

const ok = (args: string[]): string => dockerOk(b.sock, args).trim();

function fails(args: string[]): string {
  const r = docker(b.sock, args);
  assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr;
}

function logs(id: string): string {
  return ok(['logs', id]);
}

/** Runs a container to its end, its output. */
function runOut(args: string[]): { code: number; out: string } {
  const id = ok(['run', '-d', ...args]);
  const code = Number(ok(['wait', id]));
  const out = logs(id);
  ok(['rm', id]);
  return { code, out };
}

const sh = (cmd: string, args: string[], input?: string): string => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 20_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

function buildImage(): string {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'www']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((x) => x && x !== 'busybox')) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
  writeFileSync(join(root, 'www', 'index.html'), 'hello from berth\n');
  const tar = join(dir, 'busybox.tar');
  assert.equal(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status, 0);
  rmSync(root, { recursive: true, force: true });
  return tar;
}

/** A free TCP port on 127.0.0.1 (closed again). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** An HTTP GET over a raw connection from the test host's namespace (busybox nc), or from the host. */
function fetchFrom(ns: string | undefined, ip: string, port: number): string {
  const args = ['-w', '3', ip, String(port)];
  const r = ns ? spawnSync('nsenter', [`--net=${ns}`, '/bin/busybox', 'nc', ...args], { encoding: 'utf8', input: 'GET / HTTP/1.0\r\n\r\n', timeout: 10_000 })
    : spawnSync('/bin/busybox', ['nc', ...args], { encoding: 'utf8', input: 'GET / HTTP/1.0\r\n\r\n', timeout: 10_000 });
  return r.stdout;
}

/**
 * What this berthd leaves in the kernel: its bridges, veths and their
 * addresses, its rules, its netns files, its listening sockets (only this
 * instance's: other berthds may run on the host meanwhile).
 */
function footprint(pid: number | undefined): Record<string, number> {
  const left = networkLeftovers(l);
  const ours = new Set([...left.bridges, ...left.veths]);
  const addrs = sh('ip', ['-o', 'addr']).split('\n').filter((x) => ours.has(x.split(/\s+/)[1] ?? '')).length;
  const nft = left.tables.map((t) => spawnSync('nft', ['list', 'table', ...t.split(' ')], { encoding: 'utf8' }).stdout.split('\n').filter((x) => / dnat | masquerade| drop/.test(x)).length)
    .reduce((a, c) => a + c, 0);
  const sockets = pid ? sh('ss', ['-lntupH']).split('\n').filter((x) => x.includes(`pid=${pid},`)).length : 0;
  return { bridges: left.bridges.length, veths: left.veths.length, addrs, tables: left.tables.length, nft, ns: left.netns.length, sockets };
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync('/tmp/n-');
  l = layout(dir);
  b = await ready(spawnBerthd(l));
  ok(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/bin', buildImage(), 'busybox:latest']);
  // the test host: its own namespace, reached from the host through a veth
  subnet = 200 + Math.floor(Math.random() * 50);
  hostNs = join(dir, 'testhost');
  hostVeth = `vt${process.pid.toString(16).slice(-6)}`;
  writeFileSync(hostNs, '');
  sh('unshare', [`--net=${hostNs}`, 'true']);
  sh('ip', ['-batch', '-'], `link add ${hostVeth} type veth peer name th0 netns ${hostNs}\naddr add 10.250.${subnet}.1/30 dev ${hostVeth}\nlink set ${hostVeth} up\n`);
  sh('nsenter', [`--net=${hostNs}`, 'ip', '-batch', '-'], `link set lo up\naddr add 10.250.${subnet}.2/30 dev th0\nlink set th0 up\nroute add default via 10.250.${subnet}.1\n`);
  mkdirSync(join(dir, 'thwww'));
  writeFileSync(join(dir, 'thwww', 'index.html'), 'test host page\n');
  listener = spawn('nsenter', [`--net=${hostNs}`, '/bin/busybox', 'httpd', '-f', '-p', `10.250.${subnet}.2:9999`, '-h', join(dir, 'thwww')], { stdio: 'ignore' });
});

after(async () => {
  if (skip) return;
  const ids = docker(b.sock, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) docker(b.sock, ['rm', '-f', ...ids]);
  docker(b.sock, ['network', 'prune', '-f']);
  listener?.kill('SIGKILL');
  try {
    await stop(b); // removes the instance's network objects, and fails on any berthd left itself
  } finally {
    for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    spawnSync('ip', ['link', 'del', hostVeth]);
    spawnSync('umount', ['-l', hostNs]);
    spawnSync('umount', ['-R', '-l', l.execRoot]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a published port answers on 127.0.0.1, from a test host on the host address, and in inspect/ps', { skip }, async () => {
  const p = await freePort();
  const id = ok(['run', '-d', '--name', 'web', '-p', `${p}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/www']);
  // httpd listens a moment after the start returns (longer on a loaded machine)
  for (let t = 0; t < 50 && !/hello from berth/.test(fetchFrom(undefined, '127.0.0.1', p)); t++) await new Promise((r) => setTimeout(r, 200));
  assert.match(fetchFrom(undefined, '127.0.0.1', p), /hello from berth/);
  assert.match(fetchFrom(hostNs, `10.250.${subnet}.1`, p), /hello from berth/);
  assert.equal(ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', id]), `{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"${p}"}]}`);
  assert.match(ok(['ps', '--format', '{{.Ports}}', '-f', 'name=web']), new RegExp(`0\\.0\\.0\\.0:${p}->80/tcp`));
  assert.match(ok(['port', 'web']), new RegExp(`80/tcp -> 0\\.0\\.0\\.0:${p}`));
  // the port is taken now: a clear error, and nothing made
  const err = fails(['run', '-d', '--name', 'clash', '-p', `${p}:80`, 'busybox', 'true']);
  assert.match(err, new RegExp(`cannot start container clash: Bind for 0\\.0\\.0\\.0:${p} failed: port is already allocated`));
  ok(['rm', 'clash']);
  // the container reaches the outside (masquerade) — the test host's page
  assert.match(runOut(['busybox', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 10.250.${subnet}.2 9999`]).out, /test host page/);
  ok(['rm', '-f', 'web']);
});

test('UDP publishing, ranges and -P', { skip }, async () => {
  const p = await freePort();
  const id = ok(['run', '-d', '-p', `127.0.0.1:${p}:5000/udp`, 'busybox', 'sleep', '60']);
  // busybox has no UDP server: an echo server runs in the container's namespace (entered by a child)
  const ns = ok(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', id]);
  const echo = spawn('nsenter', [`--net=${ns}`, process.execPath, '-e',
    "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo:'),m]),r.port,r.address));s.bind(5000)"], { stdio: 'ignore' });
  try {
    // sent again every 300 ms until the echo server (a Node start, slow on a loaded host) answers
    const reply = await new Promise<string>((resolve) => {
      const s = createSocket('udp4');
      const send = (): void => s.send('udp-hello', p, '127.0.0.1');
      const again = setInterval(send, 300);
      const t = setTimeout(() => { clearInterval(again); s.close(); resolve(''); }, 10_000);
      s.on('message', (m) => { clearTimeout(t); clearInterval(again); s.close(); resolve(String(m)); });
      s.on('error', () => undefined); // port unreachable before the server binds
      send();
    });
    assert.equal(reply, 'echo:udp-hello');
  } finally { echo.kill('SIGKILL'); }
  ok(['rm', '-f', id]);
  const all = ok(['run', '-d', '-P', '--expose', '80', '--expose', '81', 'busybox', 'sleep', '60']);
  const ports = JSON.parse(ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', all])) as Record<string, { HostPort: string }[]>;
  assert.deepEqual(Object.keys(ports).sort(), ['80/tcp', '81/tcp']);
  assert.notEqual(ports['80/tcp']![0]!.HostPort, ports['81/tcp']![0]!.HostPort);
  ok(['rm', '-f', all]);
});

test('user networks: reach by IP inside, isolated across, --internal has no way out; network commands', { skip }, () => {
  ok(['network', 'create', '--subnet', '10.251.7.0/24', '--gateway', '10.251.7.1', '--label', 'k=v', 'n1']);
  ok(['network', 'create', 'n2']);
  ok(['network', 'create', '--internal', 'nint']);
  assert.match(fails(['network', 'create', 'n1']), /already exists/);
  assert.match(fails(['network', 'create', '-d', 'overlay', 'nx']), /overlay/);
  assert.deepEqual(ok(['network', 'ls', '--format', '{{.Name}}', '-f', 'label=k=v']).split('\n'), ['n1']);
  assert.equal(ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}} {{.Internal}}', 'n1']), '10.251.7.0/24 false');
  ok(['run', '-d', '--name', 's1', '--network', 'n1', '--ip', '10.251.7.50', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/www']);
  assert.equal(ok(['inspect', '-f', '{{.NetworkSettings.Networks.n1.IPAddress}} {{.NetworkSettings.Networks.n1.Gateway}}', 's1']), '10.251.7.50 10.251.7.1');
  const get = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 10.251.7.50 80`;
  assert.match(runOut(['--network', 'n1', 'busybox', 'sh', '-c', get]).out, /hello from berth/);
  assert.doesNotMatch(runOut(['--network', 'n2', 'busybox', 'sh', '-c', get]).out, /hello/);
  assert.doesNotMatch(runOut(['--network', 'nint', 'busybox', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 10.250.${subnet}.2 9999`]).out, /test host/);
  assert.equal(JSON.parse(ok(['network', 'inspect', '-f', '{{json .Containers}}', 'n1']))[ok(['inspect', '-f', '{{.Id}}', 's1'])].IPv4Address, '10.251.7.50/24');
  assert.match(fails(['network', 'rm', 'n1']), /active endpoints/);
  // connect a running container to n2: reachable from n2 then, not after disconnect
  ok(['network', 'connect', '--alias', 'web', 'n2', 's1']);
  const ip2 = ok(['inspect', '-f', '{{.NetworkSettings.Networks.n2.IPAddress}}', 's1']);
  const get2 = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip2} 80`;
  assert.match(runOut(['--network', 'n2', 'busybox', 'sh', '-c', get2]).out, /hello from berth/);
  ok(['network', 'disconnect', 'n2', 's1']);
  assert.doesNotMatch(runOut(['--network', 'n2', 'busybox', 'sh', '-c', get2]).out, /hello/);
  ok(['rm', '-f', 's1']);
  ok(['network', 'rm', 'n1']);
  assert.deepEqual(ok(['network', 'prune', '-f']).split('\n').filter((x) => /^n/.test(x)).sort(), ['n2', 'nint']);
  assert.deepEqual(ok(['network', 'ls', '--format', '{{.Name}}']).split('\n').sort(), ['bridge', 'host', 'none']);
});

test('a removed network stays in a stopped container\'s settings; its start fails naming it, as with dockerd', { skip }, () => {
  ok(['network', 'create', 'gone1']);
  const id2 = ok(['network', 'create', 'gone2']);
  ok(['create', '--name', 'never', '--network', 'gone1', 'busybox', 'true']);
  ok(['run', '-d', '--name', 'ran', '--network', 'gone2', 'busybox', 'true']);
  ok(['wait', 'ran']);
  ok(['network', 'rm', 'gone1', 'gone2']);
  assert.equal(ok(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.NetworkID}}{{end}}', 'ran']), `gone2 ${id2}`);
  // never started: named by name, and a network made again under it is found; once run: named by ID
  assert.match(fails(['start', 'never']), /network gone1 not found/);
  assert.match(fails(['start', 'ran']), new RegExp(`network ${id2} not found`));
  assert.equal(ok(['inspect', '-f', '{{.State.Status}}', 'ran']), 'exited');
  ok(['network', 'create', 'gone1']);
  ok(['start', 'never']);
  assert.equal(ok(['wait', 'never']), '0');
  assert.match(ok(['inspect', '-f', '{{.NetworkSettings.Networks.gone1.NetworkID}}', 'never']), /^[0-9a-f]{64}$/);
  // disconnect takes the stale endpoint away
  ok(['network', 'disconnect', 'gone2', 'ran']);
  assert.equal(ok(['inspect', '-f', '{{len .NetworkSettings.Networks}}', 'ran']), '0');
  ok(['rm', 'never', 'ran']);
  ok(['network', 'rm', 'gone1']);
});

test('--network container:x shares the namespace; host sees the host; hosts and resolv.conf', { skip }, () => {
  ok(['run', '-d', '--name', 'base', '--add-host', 'gw:host-gateway', 'busybox', 'sleep', '60']);
  const ip = ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'base']);
  assert.match(runOut(['--network', 'container:base', 'busybox', 'ip', '-o', '-4', 'addr']).out, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
  const hosts = runOut(['--network', 'container:base', 'busybox', 'cat', '/etc/hosts']).out;
  assert.match(hosts, /\tgw\n/);
  assert.match(hosts, new RegExp(`${ip.replace(/\./g, '\\.')}\\t[0-9a-f]{12}$`));
  // the host's own links (counts would race with other tests making links meanwhile): this berthd's bridge and the test host's veth
  const seen = runOut(['--network', 'host', 'busybox', 'ip', '-o', 'link']).out;
  for (const link of [networkInstance(l.execRoot).bridge, hostVeth]) assert.match(seen, new RegExp(`: ${link}[@:]`), `host mode sees ${link}`);
  assert.match(runOut(['--dns', '192.0.2.9', '--dns-search', 'x.example', 'busybox', 'cat', '/etc/resolv.conf']).out, /search x\.example\nnameserver 192\.0\.2\.9/);
  ok(['rm', '-f', 'base']);
});

test('nothing is left after creates, kill -9 of berthd and of the core, restarts and removals', { skip }, async () => {
  const before = footprint(b.proc.pid);
  const p = await freePort();
  ok(['network', 'create', 'leak']);
  ok(['run', '-d', '--name', 'l1', '--network', 'leak', '-p', `${p}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/www']);
  ok(['run', '-d', '--name', 'l2', 'busybox', 'sleep', '300']);
  b.proc.kill('SIGKILL');
  await b.exited;
  for (const pid of corePids(l)) process.kill(pid, 'SIGKILL');
  // a veth that lost its bridge (up, no master): the next berthd's reconcile takes it away
  const stray = `vb${randomBytes(6).toString('hex')}`;
  sh('ip', ['-batch', '-'], `link add ${stray} type veth peer name vp${stray.slice(2)}\nlink set ${stray} up\n`);
  // the kernel rules keep answering while berthd is away
  await new Promise((r) => setTimeout(r, 300));
  assert.match(fetchFrom(hostNs, `10.250.${subnet}.1`, p), /hello from berth/);
  b = await ready(spawnBerthd(l));
  assert.equal(existsSync(`/sys/class/net/${stray}`), false, 'the stray veth is reconciled away');
  assert.match(fetchFrom(undefined, '127.0.0.1', p), /hello from berth/);
  assert.ok(footprint(b.proc.pid).sockets >= 1, 'the proxy is back after the restart');
  ok(['rm', '-f', 'l1', 'l2']);
  ok(['network', 'rm', 'leak']);
  assert.deepEqual(footprint(b.proc.pid), before);
});
