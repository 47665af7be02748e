/** berthd's detection of another tool's FORWARD drop (nft JSON, iptables-legacy rules) and its warning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardDropWarning, legacyForwardDrops, nftForwardDrops } from '../../src/daemon/network/forward.js';

const chains = (list: object[]): string => JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6' } }, ...list.map((chain) => ({ chain }))] });

test('a forward chain with policy drop in ip filter (dockerd via iptables-nft) is found; ours, accepts and other hooks are not', () => {
  const json = chains([
    { family: 'ip', table: 'filter', name: 'FORWARD', hook: 'forward', type: 'filter', prio: 0, policy: 'drop' },
    { family: 'ip', table: 'filter', name: 'INPUT', hook: 'input', type: 'filter', prio: 0, policy: 'drop' },
    { family: 'ip', table: 'filter', name: 'DOCKER-USER' },
    { family: 'inet', table: 'berth', name: 'forward', hook: 'forward', type: 'filter', prio: -10, policy: 'drop' },
    { family: 'inet', table: 'fw', name: 'fwd', hook: 'forward', type: 'filter', prio: 0, policy: 'accept' },
    { family: 'ip6', table: 'filter', name: 'FORWARD', hook: 'forward', type: 'filter', prio: 0, policy: 'drop' },
  ]);
  assert.deepEqual(nftForwardDrops(json, ['berth', 'berth-nat']), [{ family: 'ip', table: 'filter', chain: 'FORWARD', backend: 'nftables' }]);
  assert.deepEqual(nftForwardDrops('not json', []), []);
});

test('iptables-legacy: the policy line decides', () => {
  assert.equal(legacyForwardDrops('-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n').length, 1);
  assert.equal(legacyForwardDrops('-P FORWARD ACCEPT\n-A FORWARD -j DROP\n').length, 0);
});

test('the warning names the chain and the commands for each bridge', () => {
  const w = forwardDropWarning([{ family: 'ip', table: 'filter', chain: 'FORWARD', backend: 'nftables' }], ['berth0', 'br-0123456789ab']);
  assert.match(w, /policy drop in ip filter FORWARD/);
  assert.match(w, /iptables -I DOCKER-USER -i berth0 -j ACCEPT; iptables -I DOCKER-USER -o berth0 -j ACCEPT; iptables -I DOCKER-USER -i br-0123456789ab/);
});
