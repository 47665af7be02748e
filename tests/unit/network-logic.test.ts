import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocate, completeConfig, DOCKER_POOLS, pickSubnet, poolOf } from '../../src/daemon/network/ipam.js';
import { formatCidr, ipToInt, parseCidr } from '../../src/daemon/network/ipv4.js';
import { candidates, portRequests, portsMap, psPorts } from '../../src/daemon/network/ports.js';
import { rulesetText } from '../../src/daemon/network/nft.js';
import { hostsText, resolvText } from '../../src/daemon/network/etcfiles.js';

test('pickSubnet: 172.17/16 unless a host route collides, then the next free pool', () => {
  assert.equal(formatCidr(pickSubnet(DOCKER_POOLS, [])), '172.17.0.0/16');
  assert.equal(formatCidr(pickSubnet(DOCKER_POOLS, [parseCidr('172.17.5.0/24')])), '172.18.0.0/16');
  const all172 = Array.from({ length: 15 }, (_v, i) => parseCidr(`172.${17 + i}.0.0/16`));
  assert.equal(formatCidr(pickSubnet(DOCKER_POOLS, [...all172, parseCidr('192.168.0.0/20')])), '192.168.16.0/20');
  assert.throws(() => pickSubnet([{ base: '10.0.0.0/24', size: 24 }], [parseCidr('10.0.0.0/8')]), /non-overlapping/);
});

test('IPAM: gateway .1, lowest free address, --ip, --ip-range, errors', () => {
  const cfg = completeConfig({ Subnet: '10.9.0.0/24' }, () => { throw new Error('not asked'); });
  assert.deepEqual(cfg, { Subnet: '10.9.0.0/24', Gateway: '10.9.0.1' });
  const pool = poolOf(cfg);
  assert.equal(allocate(pool, new Set()), ipToInt('10.9.0.2'));
  assert.equal(allocate(pool, new Set([ipToInt('10.9.0.2')])), ipToInt('10.9.0.3'));
  assert.equal(allocate(pool, new Set(), '10.9.0.77'), ipToInt('10.9.0.77'));
  assert.throws(() => allocate(pool, new Set([ipToInt('10.9.0.77')]), '10.9.0.77'), /already in use/);
  assert.throws(() => allocate(pool, new Set(), '10.8.0.5'), /does not belong/);
  assert.throws(() => allocate(pool, new Set(), '10.9.0.1'), /already in use/);
  const ranged = poolOf(completeConfig({ Subnet: '10.9.0.0/24', IPRange: '10.9.0.128/25', Gateway: '10.9.0.254' }, () => parseCidr('0.0.0.0/0')));
  assert.equal(allocate(ranged, new Set()), ipToInt('10.9.0.128'));
  assert.throws(() => completeConfig({ Subnet: '10.9.0.3/24' }, () => parseCidr('0.0.0.0/0')), /host bits/);
  assert.throws(() => poolOf({ Subnet: '10.9.0.0/24', Gateway: '10.10.0.1' }), /no matching subnet for gateway/);
  const tiny = poolOf({ Subnet: '10.9.0.0/30', Gateway: '10.9.0.1' });
  assert.equal(allocate(tiny, new Set()), ipToInt('10.9.0.2'));
  assert.throws(() => allocate(tiny, new Set([ipToInt('10.9.0.2')])), /no available/);
});

test('port bindings: fixed, host IP, udp, ranges, -P', () => {
  const r = portRequests({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostIp: '', HostPort: '5353' }], '81/tcp': [{ HostPort: '8000-8010' }] },
    { '80/tcp': {}, '443/tcp': {} }, true);
  assert.deepEqual(r, [
    { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', lo: 8080, hi: 8080 },
    { proto: 'udp', containerPort: 53, hostIp: '', lo: 5353, hi: 5353 },
    { proto: 'tcp', containerPort: 81, hostIp: '', lo: 8000, hi: 8010 },
    { proto: 'tcp', containerPort: 443, hostIp: '', lo: 0, hi: 0 },
  ]);
  assert.deepEqual(candidates(r[2]!), Array.from({ length: 11 }, (_v, i) => 8000 + i));
  assert.ok(candidates(r[3]!).every((p) => p > 1024));
  assert.throws(() => portRequests({ '80/tcp': [{ HostPort: '9-x' }] }, {}, false), /invalid hostPort/);
  assert.throws(() => portRequests({ '70000/tcp': [] }, {}, false), /invalid port/);
  const map = portsMap({ '80/tcp': {}, '443/tcp': {} }, [{ proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080 }]);
  assert.deepEqual(map, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '443/tcp': null });
  assert.deepEqual(psPorts(map), [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }]);
});

test('nft text: own tables only, isolation, internal, masquerade, DNAT, loopback masquerade', () => {
  const t = rulesetText('berth', {
    networks: [
      { bridge: 'berth0', subnet: '172.17.0.0/16', internal: false, masquerade: true, icc: true, veths: [] },
      { bridge: 'br-1', subnet: '10.1.0.0/24', internal: true, masquerade: true, icc: false, veths: ['vba', 'vbb'] },
    ],
    ports: [{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, ip: '172.17.0.2', port: 80, bridge: 'berth0' }],
  });
  for (const table of t.match(/^table \S+ \S+/gm)!) assert.match(table, /^table (inet|ip|bridge) berth(-nat)?$/);
  assert.match(t, /iifname "berth0" oifname "br-1" drop/);
  assert.match(t, /iifname "br-1" oifname != "br-1" drop/);
  assert.match(t, /ip saddr 172\.17\.0\.0\/16 oifname != "berth0" masquerade/);
  assert.doesNotMatch(t, /ip saddr 10\.1\.0\.0\/24 oifname != "br-1" masquerade/);
  assert.match(t, /ip daddr 127\.0\.0\.1 tcp dport 8080 dnat to 172\.17\.0\.2:80/);
  assert.match(t, /oifname "berth0" ip saddr 127\.0\.0\.0\/8 masquerade/);
  assert.match(t, /iifname \{ "vba", "vbb" \} oifname \{ "vba", "vbb" \} drop/);
  assert.match(t, /^delete table inet berth$/m);
});

test('hosts and resolv.conf as Docker writes them', () => {
  assert.equal(hostsText({ hostname: 'abc', ips: ['172.17.0.2'], extraHosts: ['db:10.0.0.5', 'gw:host-gateway'], hostGateway: '172.17.0.1' }),
    '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n'
    + '10.0.0.5\tdb\n172.17.0.1\tgw\n172.17.0.2\tabc\n');
  const host = 'nameserver 127.0.0.53\nsearch example.org\noptions edns0\n';
  assert.equal(resolvText({ host, dns: [], search: [], options: [], embedded: false }), 'search example.org\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n');
  assert.equal(resolvText({ host: 'nameserver 192.0.2.53\n', dns: ['1.1.1.1'], search: ['a.b'], options: ['ndots:2'], embedded: false }), 'search a.b\nnameserver 1.1.1.1\noptions ndots:2\n');
  assert.equal(resolvText({ host, dns: [], search: [], options: [], embedded: true }), 'search example.org\nnameserver 127.0.0.11\noptions ndots:0 edns0\n');
});
