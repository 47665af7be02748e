import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { addNetnsWithVeth, addVeth, deleteLink, ensureBridge, linkExists, macFor } from '../../src/daemon/network/links.js';
import { netnsFile, removeNetns } from '../../src/daemon/network/netns.js';

const inside = (ns: string, ...args: string[]): string => {
  const r = spawnSync('nsenter', [`--net=${ns}`, 'ip', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};
const master = (link: string): string => /INTERFACE=(\S+)/.exec(readFileSync(`/sys/class/net/${link}/master/uevent`, 'utf8'))?.[1] ?? '';

test('a new namespace and its first veth in one child; a second endpoint into it; all plugged into the bridges', () => {
  const tag = process.pid.toString(16).slice(-5);
  const [br1, br2] = [`tb1${tag}`, `tb2${tag}`];
  const [v1, v2] = [`vbt1${tag}`, `vbt2${tag}`];
  const dir = mkdtempSync(join(tmpdir(), 'berth-links-'));
  const ns = join(dir, 'ns');
  try {
    ensureBridge(br1, '10.251.7.1/24', undefined);
    ensureBridge(br2, '10.251.8.1/24', undefined);
    netnsFile(ns);
    addNetnsWithVeth({ veth: v1, bridge: br1, netns: ns, ifname: 'eth0', ip: '10.251.7.2', prefix: 24, mac: macFor('10.251.7.2'), gateway: '10.251.7.1' });
    addVeth({ veth: v2, bridge: br2, netns: ns, ifname: 'eth1', ip: '10.251.8.2', prefix: 24, mac: macFor('10.251.8.2'), mtu: 1400 });
    assert.equal(master(v1), br1);
    assert.equal(master(v2), br2);
    assert.ok((Number(readFileSync(`/sys/class/net/${v1}/flags`, 'utf8')) & 1) === 1, 'host end up');
    const addrs = inside(ns, '-br', 'addr');
    assert.match(addrs, /^lo\s+UNKNOWN\s+127\.0\.0\.1\/8/m);
    assert.match(addrs, /^eth0@\S+\s+UP\s+10\.251\.7\.2\/24/m);
    assert.match(addrs, /^eth1@\S+\s+UP\s+10\.251\.8\.2\/24/m);
    assert.match(inside(ns, 'link', 'show', 'eth0'), /link\/ether 02:42:0a:fb:07:02/);
    assert.match(inside(ns, 'link', 'show', 'eth1'), /mtu 1400/);
    assert.match(inside(ns, 'route'), /^default via 10\.251\.7\.1 dev eth0/m);
    // a bridge that does not exist: a clear error, nothing left
    assert.throws(() => addVeth({ veth: `vbt3${tag}`, bridge: `nob${tag}`, netns: ns, ifname: 'eth2', ip: '10.251.9.2', prefix: 24, mac: macFor('10.251.9.2') }), /bridge nob.* does not exist/);
    assert.equal(linkExists(`vbt3${tag}`), false);
  } finally {
    for (const l of [v1, v2, br1, br2]) deleteLink(l);
    removeNetns(ns);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(linkExists(v1) || linkExists(br1), false);
});
