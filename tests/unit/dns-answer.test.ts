import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dns from 'dns-packet';
import { decide, encodeForUdp, udpLimit, RCODE, TTL } from '../../src/daemon/dns/answer.js';
import { DnsTable } from '../../src/daemon/dns/table.js';
import { expandIpv6, fromReverseName, sameIp } from '../../src/daemon/dns/addr.js';
import { gatewayFor } from '../../src/daemon/dns/gateway.js';
import { redirectRules } from '../../src/daemon/dns/netns.js';
import { parseResolvConf, parseUpstreamList } from '../../src/daemon/dns/upstream.js';

/** dns-packet decodes these, its types leave them out */
const rcodeOf = (p: dns.Packet): string => (p as { rcode?: string }).rcode ?? '';
const dataOf = (a: dns.Answer): unknown => (a as { data?: unknown }).data;
const ttlOf = (a: dns.Answer): unknown => (a as { ttl?: unknown }).ttl;

const WEB = 'aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111';
const DB = 'bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222';
const OTHER = 'cccccccccccc3333333333333333333333333333333333333333333333333333';

function table(): DnsTable {
  const t = new DnsTable();
  t.nameNetwork('netA', 'front');
  t.add('netA', WEB, ['web', 'Www-Alias', 'webhost'], '10.1.0.2', 'fd00::2');
  t.add('netA', DB, ['db', 'shared'], '10.1.0.3');
  t.add('netB', OTHER, ['other', 'shared'], '10.2.0.2');
  return t;
}

function query(name: string, type: dns.RecordType, extra: Partial<dns.Packet> = {}): dns.DecodedPacket {
  return dns.decode(dns.encode({ type: 'query', id: 4242, flags: dns.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }], ...extra }));
}

function lookup(t: DnsTable, scope: string[]) {
  return { resolve: (n: string) => t.resolve(n, scope), reverse: (ip: string) => t.reverse(ip, scope) };
}

test('names match case-insensitively, with a trailing dot, by alias, hostname, short id and name.network', () => {
  const t = table();
  for (const n of ['web', 'WEB.', 'www-alias', 'webhost', 'aaaaaaaaaaaa', 'web.front', 'Web.Front.']) {
    assert.deepEqual(t.resolve(n, ['netA']), { ipv4: ['10.1.0.2'], ipv6: ['fd00::2'] }, n);
  }
  assert.equal(t.resolve('aaaaaaaaaaaa1', ['netA']), undefined, 'only the 12-character short id');
  assert.equal(t.resolve('web.other', ['netA']), undefined);
});

test('a network sees only its own names; a shared alias answers every holder in scope', () => {
  const t = table();
  assert.equal(t.resolve('other', ['netA']), undefined);
  assert.equal(t.resolve('web', ['netB']), undefined);
  assert.deepEqual(t.resolve('shared', ['netA'])!.ipv4, ['10.1.0.3']);
  assert.deepEqual(t.resolve('shared', ['netA', 'netB'])!.ipv4.sort(), ['10.1.0.3', '10.2.0.2']);
});

test('scope: the asker’s networks, the arrival network for the host, refused for another network’s container', () => {
  const t = table();
  t.add('netB', WEB, ['web'], '10.2.0.9');
  assert.deepEqual(t.scopeFor('netA', '10.1.0.2')!.sort(), ['netA', 'netB']);
  assert.deepEqual(t.scopeFor('netA', '10.1.0.3'), ['netA']);
  assert.deepEqual(t.scopeFor('netA', '10.1.0.1'), ['netA']);
  assert.equal(t.scopeFor('netA', '10.2.0.2'), undefined);
  t.remove('netB', WEB);
  assert.deepEqual(t.scopeFor('netA', '10.1.0.2'), ['netA']);
});

test('A and AAAA answers carry TTL 600, echo id/question/RD and set RA and AA', () => {
  const t = table();
  const d = decide(query('web', 'A'), lookup(t, ['netA']));
  assert.equal(d.kind, 'answer');
  const p = dns.decode(dns.encode(d.kind === 'answer' ? d.packet : {}));
  assert.equal(p.id, 4242);
  assert.equal(p.type, 'response');
  assert.ok(p.flag_rd && p.flag_ra && p.flag_aa);
  assert.equal(rcodeOf(p), 'NOERROR');
  assert.deepEqual(p.answers!.map((a) => [a.type, a.name, ttlOf(a), dataOf(a)]), [['A', 'web', TTL, '10.1.0.2']]);
  const six = decide(query('web', 'AAAA'), lookup(t, ['netA']));
  assert.deepEqual(six.kind === 'answer' ? six.packet.answers!.map(dataOf) : [], ['fd00::2']);
});

test('a known name without the asked type is NODATA, never forwarded; unknown names forward', () => {
  const t = table();
  const d = decide(query('db', 'AAAA'), lookup(t, ['netA']));
  assert.ok(d.kind === 'answer' && d.packet.answers!.length === 0 && ((d.packet.flags ?? 0) & 0xf) === RCODE.NOERROR);
  const mx = decide(query('db', 'MX'), lookup(t, ['netA']));
  assert.equal(mx.kind, 'answer');
  assert.equal(decide(query('example.test', 'A'), lookup(t, ['netA'])).kind, 'forward');
  assert.equal(decide(query('other', 'A'), lookup(t, ['netA'])).kind, 'forward');
});

test('PTR answers name.network for container addresses in scope, forwards the rest', () => {
  const t = table();
  const d = decide(query('2.0.1.10.in-addr.arpa', 'PTR'), lookup(t, ['netA']));
  assert.ok(d.kind === 'answer');
  assert.equal(dataOf(d.packet.answers![0]), 'web.front');
  assert.equal(decide(query('2.0.2.10.in-addr.arpa', 'PTR'), lookup(t, ['netA'])).kind, 'forward');
  const v6 = '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa';
  const d6 = decide(query(v6, 'PTR'), lookup(t, ['netA']));
  assert.ok(d6.kind === 'answer' && dataOf(d6.packet.answers![0]) === 'web.front');
});

test('malformed and non-QUERY opcodes are answered with FORMERR / NOTIMP', () => {
  const none = dns.decode(dns.encode({ type: 'query', id: 1, questions: [] }));
  const d = decide(none, lookup(table(), ['netA']));
  assert.ok(d.kind === 'answer' && ((d.packet.flags ?? 0) & 0xf) === RCODE.FORMERR);
  const notify = query('web', 'A', { flags: 4 << 11 });
  const n = decide(notify, lookup(table(), ['netA']));
  assert.ok(n.kind === 'answer' && ((n.packet.flags ?? 0) & 0xf) === RCODE.NOTIMP);
});

test('answers too big for UDP lose their records and set TC; EDNS raises the limit', () => {
  const t = new DnsTable();
  for (let i = 0; i < 60; i++) t.add('n', `${i.toString(16).padStart(12, '0')}ffff`, ['many'], `10.9.0.${i + 2}`);
  const q = query('many', 'A');
  const d = decide(q, lookup(t, ['n']));
  assert.ok(d.kind === 'answer');
  assert.equal(udpLimit(q), 512);
  const small = dns.decode(encodeForUdp(d.packet, udpLimit(q)));
  assert.ok(small.flag_tc);
  assert.equal(small.answers!.length, 0);
  assert.equal(small.questions![0].name, 'many');
  const eq = query('many', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] });
  const big = decide(eq, lookup(t, ['n']));
  assert.ok(big.kind === 'answer');
  const full = dns.decode(encodeForUdp(big.packet, udpLimit(eq)));
  assert.ok(!full.flag_tc);
  assert.equal(full.answers!.length, 60);
});

test('addresses: ipv6 spellings compare equal, reverse names parse, bad ones do not', () => {
  assert.equal(expandIpv6('fd00::2'), 'fd00:0000:0000:0000:0000:0000:0000:0002');
  assert.ok(sameIp('FD00:0::2', 'fd00::2'));
  assert.ok(sameIp('::ffff:10.0.0.1', '::ffff:a00:1'));
  assert.equal(fromReverseName('4.3.2.1.in-addr.arpa.'), '1.2.3.4');
  assert.equal(fromReverseName('3.2.1.in-addr.arpa'), undefined);
  assert.equal(fromReverseName('x.4.3.2.1.in-addr.arpa'), undefined);
  assert.equal(fromReverseName('example.com'), undefined);
});

test('gateway: the host address sharing the container’s subnet', () => {
  const ifs = {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '', internal: true, cidr: '127.0.0.1/8' }],
    br1: [{ address: '10.1.0.1', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '', internal: false, cidr: '10.1.0.1/24' }],
    eth0: [{ address: '192.168.5.4', netmask: '255.255.0.0', family: 'IPv4' as const, mac: '', internal: false, cidr: '192.168.5.4/16' }],
  };
  assert.equal(gatewayFor('10.1.0.7', ifs), '10.1.0.1');
  assert.equal(gatewayFor('192.168.77.1', ifs), '192.168.5.4');
  assert.equal(gatewayFor('10.2.0.7', ifs), undefined);
});

test('resolv.conf and upstream lists parse; nonsense is refused', () => {
  assert.deepEqual(parseResolvConf('# x\nnameserver 127.0.0.53\nsearch a b\nnameserver fe80::1%eth0\nnameserver bogus\n'),
    [{ host: '127.0.0.53', port: 53 }, { host: 'fe80::1%eth0', port: 53 }]);
  assert.deepEqual(parseUpstreamList('127.0.0.1:5353, 10.0.0.1,[::1]:54'),
    [{ host: '127.0.0.1', port: 5353 }, { host: '10.0.0.1', port: 53 }, { host: '::1', port: 54 }]);
  assert.throws(() => parseUpstreamList('name.example:53'), /invalid dns upstream/);
  assert.throws(() => parseUpstreamList('127.0.0.1:0'), /invalid dns upstream/);
});

test('netns rules redirect udp and tcp to the listener and replace an older table atomically', () => {
  const text = redirectRules({ host: '10.1.0.1', udpPort: 53, tcpPort: 5353 });
  assert.match(text, /^table ip berth_dns\ndelete table ip berth_dns\n/);
  assert.match(text, /ip daddr 127\.0\.0\.11 udp dport 53 dnat to 10\.1\.0\.1:53/);
  assert.match(text, /ip daddr 127\.0\.0\.11 tcp dport 53 dnat to 10\.1\.0\.1:5353/);
  assert.match(text, /masquerade/);
});
