import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as dns from 'dns-packet';
import { nullLogger } from '../../src/common/log.js';
import { EmbeddedDns } from '../../src/daemon/dns/embedded.js';
import { HostResolvers, forward, type Upstream } from '../../src/daemon/dns/upstream.js';

/** dns-packet decodes these, its types leave them out */
const rcodeOf = (p: dns.Packet): string => (p as { rcode?: string }).rcode ?? '';
const dataOf = (a: dns.Answer): unknown => (a as { data?: unknown }).data;
const ttlOf = (a: dns.Answer): unknown => (a as { ttl?: unknown }).ttl;

/** A real DNS server on 127.0.0.1 (UDP and TCP on one port): `big.test` has 80 addresses, `none.test` is NXDOMAIN. */
interface Fake { port: number; udp: UdpSocket; tcp: Server; asked: string[] }

function answerFor(raw: Buffer): Buffer {
  const q = dns.decode(raw);
  const name = q.questions![0].name;
  const base = { type: 'response' as const, id: q.id, flags: dns.RECURSION_AVAILABLE, questions: q.questions };
  if (name === 'none.test') return dns.encode({ ...base, flags: dns.RECURSION_AVAILABLE | 3 });
  const n = name === 'big.test' ? 80 : 1;
  return dns.encode({ ...base, answers: Array.from({ length: n }, (_, i) => ({ type: 'A' as const, name, ttl: 30, data: `192.0.2.${i + 1}` })) });
}

async function startFake(): Promise<Fake> {
  const asked: string[] = [];
  const tcp = createServer((c) => {
    c.on('data', (d: Buffer) => {
      asked.push(`tcp:${dns.decode(d.subarray(2)).questions![0].name}`);
      const a = answerFor(d.subarray(2));
      const len = Buffer.alloc(2);
      len.writeUInt16BE(a.length);
      c.end(Buffer.concat([len, a]));
    });
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const port = (tcp.address() as { port: number }).port;
  const udp = createSocket('udp4');
  udp.on('message', (m, r) => {
    asked.push(`udp:${dns.decode(m).questions![0].name}`);
    udp.send(answerFor(m), r.port, r.address);
  });
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
  return { port, udp, tcp, asked };
}

/** A UDP socket that never answers: the timeout path. */
async function startSilent(): Promise<{ port: number; sock: UdpSocket }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, sock };
}

const fake = await startFake();
const silent = await startSilent();
after(() => { fake.udp.close(); fake.tcp.close(); silent.sock.close(); });

const up: Upstream = { host: '127.0.0.1', port: fake.port };
const dead: Upstream = { host: '127.0.0.1', port: silent.port };

function q(name: string, type: dns.RecordType = 'A', id = 77): Buffer {
  return dns.encode({ type: 'query', id, flags: dns.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
}

function server(list: Upstream[]): EmbeddedDns {
  const s = new EmbeddedDns({ log: nullLogger, resolvers: new HostResolvers('/nonexistent', list), tryTimeoutMs: 300 });
  s.table.add('net1', 'a'.repeat(64), ['web'], '10.5.0.2');
  return s;
}

test('unknown names go to the upstream, over the client’s transport, and come back unchanged', async () => {
  const s = server([up]);
  const viaUdp = dns.decode((await s.handle('net1', q('outside.test'), 'udp', '10.5.0.2'))!);
  assert.equal(viaUdp.id, 77);
  assert.deepEqual(viaUdp.answers!.map(dataOf), ['192.0.2.1']);
  const viaTcp = dns.decode((await s.handle('net1', q('outside.test', 'A', 78), 'tcp', '10.5.0.2'))!);
  assert.equal(viaTcp.id, 78);
  assert.ok(fake.asked.includes('udp:outside.test') && fake.asked.includes('tcp:outside.test'));
});

test('container names never reach the upstream', async () => {
  const before = fake.asked.length;
  const p = dns.decode((await server([up]).handle('net1', q('WEB'), 'udp', '10.5.0.2'))!);
  assert.deepEqual(p.answers!.map(dataOf), ['10.5.0.2']);
  assert.equal(fake.asked.length, before);
});

test('the upstream’s NXDOMAIN reaches the client', async () => {
  const p = dns.decode((await server([up]).handle('net1', q('none.test'), 'udp', '10.5.0.2'))!);
  assert.equal(rcodeOf(p), 'NXDOMAIN');
});

test('a forwarded answer too big for UDP comes back truncated; over TCP whole', async () => {
  const s = server([up]);
  const small = dns.decode((await s.handle('net1', q('big.test'), 'udp', '10.5.0.2'))!);
  assert.ok(small.flag_tc);
  assert.equal(small.answers!.length, 0);
  const whole = dns.decode((await s.handle('net1', q('big.test'), 'tcp', '10.5.0.2'))!);
  assert.ok(!whole.flag_tc);
  assert.equal(whole.answers!.length, 80);
});

test('a silent resolver times out and the next one answers; none answering is SERVFAIL', async () => {
  const t0 = Date.now();
  const p = dns.decode((await server([dead, up]).handle('net1', q('outside.test'), 'udp', '10.5.0.2'))!);
  assert.deepEqual(p.answers!.map(dataOf), ['192.0.2.1']);
  assert.ok(Date.now() - t0 >= 250, 'the dead resolver was tried first');
  const fail = dns.decode((await server([dead]).handle('net1', q('outside.test'), 'udp', '10.5.0.2'))!);
  assert.equal(rcodeOf(fail), 'SERVFAIL');
  assert.equal(fail.id, 77);
  const nothing = dns.decode((await server([]).handle('net1', q('outside.test'), 'udp', '10.5.0.2'))!);
  assert.equal(rcodeOf(nothing), 'SERVFAIL');
});

test('a container of another network asking this network’s server is refused; garbage is dropped', async () => {
  const s = server([up]);
  s.table.add('net2', 'b'.repeat(64), ['other'], '10.6.0.2');
  const p = dns.decode((await s.handle('net1', q('web'), 'udp', '10.6.0.2'))!);
  assert.equal(rcodeOf(p), 'REFUSED');
  assert.equal(await s.handle('net1', Buffer.from('xx'), 'udp', '10.5.0.2'), undefined);
});

test('an answer with the wrong id is not believed', async () => {
  const liar = createSocket('udp4');
  liar.on('message', (m, r) => {
    const wrong = Buffer.from(answerFor(m));
    wrong.writeUInt16BE((m.readUInt16BE(0) + 1) & 0xffff, 0);
    liar.send(wrong, r.port, r.address);
  });
  await new Promise<void>((r) => liar.bind(0, '127.0.0.1', r));
  try {
    assert.equal(await forward([{ host: '127.0.0.1', port: liar.address().port }], q('outside.test'), 'udp', 300), undefined);
  } finally {
    liar.close();
  }
});

test('resolvers: --dns servers win, the host list (loopback included) otherwise', () => {
  const host = [{ host: '127.0.0.53', port: 53 }];
  const s = new EmbeddedDns({ log: nullLogger, resolvers: new HostResolvers('/nonexistent-but-fixed', undefined) });
  // no resolv.conf: the host list is empty
  assert.deepEqual(s.upstreamsOf(undefined), []);
  const withHost = new EmbeddedDns({ log: nullLogger, resolvers: { list: () => host, overridden: () => false } as unknown as HostResolvers });
  withHost.table.add('n', 'c'.repeat(64), ['x'], '10.0.0.2');
  // what the network side writes when the host has only loopback resolvers: the public fallback
  (withHost as unknown as { endpoints: Map<string, unknown> }).endpoints.set('c'.repeat(64), { netns: '/x', upstream: ['8.8.8.8', '8.8.4.4'] });
  assert.deepEqual(withHost.upstreamsOf('c'.repeat(64)), host);
  (withHost as unknown as { endpoints: Map<string, unknown> }).endpoints.set('c'.repeat(64), { netns: '/x', upstream: ['10.9.9.9'] });
  assert.deepEqual(withHost.upstreamsOf('c'.repeat(64)), [{ host: '10.9.9.9', port: 53 }]);
});
