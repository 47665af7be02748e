/**
 * The embedded DNS server against the real kernel, at the daemon level:
 * two user "networks" (bridges on test subnets) with namespaces the test
 * makes, registered as the network side registers containers. From inside
 * the namespaces, 127.0.0.11 resolves names, aliases, hostnames and short
 * ids of the same network over UDP and TCP, a page is fetched by name, the
 * other network's names stay unknown, an outside name is forwarded to a
 * resolver the test runs on 127.0.0.1 (traffic stays on loopback and in the
 * test's namespaces), and after removal no listener and no rule is left.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dns from 'dns-packet';
import { nullLogger } from '../../src/common/log.js';
import { EmbeddedDns } from '../../src/daemon/dns/index.js';
import { HostResolvers } from '../../src/daemon/dns/upstream.js';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root' : false;

const tag = `bd${process.pid % 100000}`;
const nets = {
  a: { id: 'net-a-id', name: 'front', bridge: `${tag}a`, gw: '10.251.61.1', prefix: 24 },
  b: { id: 'net-b-id', name: 'back', bridge: `${tag}b`, gw: '10.251.62.1', prefix: 24 },
};
const ID = { web: 'a1b2c3d4e5f6'.padEnd(64, '0'), client: 'f6e5d4c3b2a1'.padEnd(64, '1'), stranger: '0123456789ab'.padEnd(64, '2') };
interface Box { ns: string; path: string; ip: string; net: keyof typeof nets; veth: string }
const boxes: Record<keyof typeof ID, Box> = {
  web: { ns: `${tag}-web`, path: `/run/netns/${tag}-web`, ip: '10.251.61.2', net: 'a', veth: `${tag}w` },
  client: { ns: `${tag}-cli`, path: `/run/netns/${tag}-cli`, ip: '10.251.61.3', net: 'a', veth: `${tag}c` },
  stranger: { ns: `${tag}-str`, path: `/run/netns/${tag}-str`, ip: '10.251.62.2', net: 'b', veth: `${tag}s` },
};

let dir: string;
let server: EmbeddedDns;
let upstream: UdpSocket;
let httpd: ChildProcess | undefined;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Runs in the box's netns (and its /etc/netns resolv.conf, as a container's
 * own). Asynchronous: the server answers from this very process.
 */
function inBox(box: Box, args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', box.ns, ...args], { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr });
    });
  });
}

function makeBox(box: Box): void {
  const net = nets[box.net];
  sh('ip', ['netns', 'add', box.ns]);
  mkdirSync(`/etc/netns/${box.ns}`, { recursive: true });
  writeFileSync(`/etc/netns/${box.ns}/resolv.conf`, 'nameserver 127.0.0.11\noptions ndots:0\n');
  sh('ip', ['link', 'add', box.veth, 'type', 'veth', 'peer', 'name', `${box.veth}p`, 'netns', box.ns]);
  sh('ip', ['link', 'set', box.veth, 'master', net.bridge, 'up']);
  sh('ip', ['-n', box.ns, 'addr', 'add', `${box.ip}/${net.prefix}`, 'dev', `${box.veth}p`]);
  sh('ip', ['-n', box.ns, 'link', 'set', `${box.veth}p`, 'up']);
  sh('ip', ['-n', box.ns, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', box.ns, 'route', 'add', 'default', 'via', net.gw]);
}

/** A resolver on 127.0.0.1 that knows one outside name. */
async function startUpstream(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  s.on('message', (m, r) => {
    const q = dns.decode(m);
    const name = q.questions![0].name;
    const known = name === 'outside.berth.test' && q.questions![0].type === 'A';
    s.send(dns.encode({
      type: 'response', id: q.id, flags: dns.RECURSION_AVAILABLE | (known ? 0 : 3), questions: q.questions,
      answers: known ? [{ type: 'A', name, ttl: 60, data: '192.0.2.77' }] : [],
    }), r.port, r.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-dns-'));
  upstream = await startUpstream();
  for (const n of Object.values(nets)) {
    sh('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${n.gw}/${n.prefix}`, 'dev', n.bridge]);
    sh('ip', ['link', 'set', n.bridge, 'up']);
  }
  for (const box of Object.values(boxes)) makeBox(box);
  server = new EmbeddedDns({ log: nullLogger, resolvers: new HostResolvers('/nonexistent', [{ host: '127.0.0.1', port: upstream.address().port }]) });
  const reg = (key: keyof typeof ID, names: string[]): Promise<void> => {
    const box = boxes[key];
    return server.register({
      network: nets[box.net].id, networkName: nets[box.net].name, container: ID[key], names: [...names, ID[key].slice(0, 12)],
      ip: box.ip, netns: box.path, upstream: [],
    });
  };
  await reg('web', ['web', 'www', 'web-host']);
  await reg('client', ['client']);
  await reg('stranger', ['stranger']);
  mkdirSync(join(dir, 'www'));
  writeFileSync(join(dir, 'www', 'index.html'), 'hello from web\n');
  httpd = spawn('ip', ['netns', 'exec', boxes.web.ns, '/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', join(dir, 'www')], { stdio: 'ignore' });
});

after(async () => {
  if (skip) return;
  httpd?.kill();
  await server?.close();
  upstream?.close();
  for (const box of Object.values(boxes)) {
    spawnSync('ip', ['netns', 'del', box.ns]);
    rmSync(`/etc/netns/${box.ns}`, { recursive: true, force: true });
  }
  for (const n of Object.values(nets)) spawnSync('ip', ['link', 'del', n.bridge]);
  rmSync(dir, { recursive: true, force: true });
});

function nslookup(box: Box, name: string): Promise<{ status: number | null; out: string }> {
  return inBox(box, ['/bin/busybox', 'nslookup', '-type=a', name, '127.0.0.11']);
}

test('names, aliases, hostnames, short ids and name.network resolve on the same network over UDP', { skip }, async () => {
  for (const name of ['web', 'WWW', 'web-host', ID.web.slice(0, 12), 'web.front']) {
    const r = await nslookup(boxes.client, name);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Address:\s+10\.251\.61\.2\b/, `${name}: ${r.out}`);
  }
  assert.match((await nslookup(boxes.web, 'client')).out, /Address:\s+10\.251\.61\.3\b/);
});

test('the resolver of the box (glibc, through resolv.conf) finds the name; TCP queries work too', { skip }, async () => {
  assert.match((await inBox(boxes.client, ['getent', 'ahostsv4', 'web'])).out, /^10\.251\.61\.2\s/m);
  const tcp = await inBox(boxes.client, ['node', '-e', `
    const net = require('net'); const dns = require(${JSON.stringify(join(process.cwd(), 'node_modules', 'dns-packet'))});
    const c = net.connect(53, '127.0.0.11', () => c.write(dns.streamEncode({ type: 'query', id: 9, flags: dns.RECURSION_DESIRED, questions: [{ type: 'A', name: 'www' }] })));
    c.on('data', (d) => { console.log(dns.streamDecode(d).answers.map((a) => a.data).join(',')); c.end(); });
    c.on('error', (e) => { console.error(e.message); process.exit(1); });`]);
  assert.equal(tcp.out.trim(), '10.251.61.2');
});

test('PTR of a container address answers name.network', { skip }, async () => {
  const r = await inBox(boxes.client, ['/bin/busybox', 'nslookup', '10.251.61.2', '127.0.0.11']);
  assert.match(r.out, /web\.front/, r.out);
});

test('a page is fetched by name', { skip }, async () => {
  let out = '';
  for (let i = 0; i < 40 && !out.includes('hello from web'); i++) {
    out = (await inBox(boxes.client, ['curl', '-s', '--max-time', '2', 'http://web:8080/'])).out;
    if (!out.includes('hello from web')) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(out, 'hello from web\n');
});

test('another network’s names are not known there, and its containers are refused here', { skip }, async () => {
  const r = await nslookup(boxes.stranger, 'web');
  assert.notEqual(r.status, 0, r.out);
  assert.doesNotMatch(r.out, /10\.251\.61\.2/);
  assert.match((await nslookup(boxes.stranger, 'stranger')).out, /Address:\s+10\.251\.62\.2\b/);
  // straight at network a's server, bypassing its own 127.0.0.11
  const direct = await inBox(boxes.stranger, ['/bin/busybox', 'nslookup', 'web', nets.a.gw]);
  assert.doesNotMatch(direct.out, /10\.251\.61\.2/);
});

test('outside names go to the host side resolver; unknown ones come back NXDOMAIN', { skip }, async () => {
  assert.match((await nslookup(boxes.client, 'outside.berth.test')).out, /Address:\s+192\.0\.2\.77\b/);
  assert.match((await nslookup(boxes.client, 'nothing.berth.test')).out, /NXDOMAIN/);
});

test('removal leaves no listener and no rule; the netns keeps working without them', { skip }, async () => {
  const netnsTables = async (box: Box): Promise<string> => (await inBox(box, ['nft', 'list', 'tables'])).out;
  assert.match(await netnsTables(boxes.client), /berth_dns/);
  const listening = (): string => sh('ss', ['-Hlnu', 'src', nets.a.gw]) + sh('ss', ['-Hlnt', 'src', nets.a.gw]);
  assert.match(listening(), /:53\b/);
  await server.unregister(nets.a.id, ID.client);
  assert.doesNotMatch(await netnsTables(boxes.client), /berth_dns/);
  assert.match(listening(), /:53\b/, 'web is still on the network');
  assert.notEqual((await nslookup(boxes.web, 'client')).status, 0, 'client is gone from the table');
  await server.unregister(nets.a.id, ID.web);
  await server.unregister(nets.b.id, ID.stranger);
  assert.equal(listening(), '');
  for (const box of Object.values(boxes)) assert.doesNotMatch(await netnsTables(box), /berth_dns/);
  assert.equal(server.address(nets.a.id), undefined);
});
