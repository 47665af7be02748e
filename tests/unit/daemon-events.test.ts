import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus, eventMatches } from '../../src/daemon/events.js';
import { parseFilters } from '../../src/api/query.js';
import { eventDocument } from '../../src/api/routes/events.js';
import type { EngineEvent } from '../../src/api/backend.js';

const none = parseFilters(null);

async function collect(it: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

test('events carry Docker\'s shape; container and image events get the legacy status/id/from', () => {
  const bus = new EventBus();
  const e = bus.publish('container', 'start', { ID: 'abc', Attributes: { name: 'web', image: 'nginx:1' } });
  assert.equal(e.scope, 'local');
  assert.equal(e.time, Math.floor(e.timeNano / 1e9));
  assert.ok(Math.abs(e.timeNano / 1e6 - Date.now()) < 1000);
  assert.deepEqual(Object.keys(eventDocument(e)), ['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
  const d = bus.publish('daemon', 'reload', { ID: 'd1', Attributes: {} });
  assert.equal('status' in eventDocument(d), false);
  assert.ok(d.timeNano > e.timeNano);
});

test('filters: type, event (with exec_start: suffix), container by name or id prefix, image without tag, label', () => {
  const bus = new EventBus();
  const start = bus.publish('container', 'start', { ID: 'abcdef123', Attributes: { name: 'web', image: 'nginx:1', app: 'shop' } });
  const exec = bus.publish('container', 'exec_start: sh -c true', { ID: 'abcdef123', Attributes: { name: 'web', image: 'nginx:1' } });
  const pull = bus.publish('image', 'pull', { ID: 'busybox:latest', Attributes: { name: 'busybox' } });
  const f = (json: string): EngineEvent[] => [start, exec, pull].filter((e) => eventMatches(parseFilters(json), e));
  assert.deepEqual(f('{"type":{"image":true}}'), [pull]);
  assert.deepEqual(f('{"event":{"exec_start":true}}'), [exec]);
  assert.deepEqual(f('{"container":{"web":true}}'), [start, exec]);
  assert.deepEqual(f('{"container":{"abcd":true}}'), [start, exec]);
  assert.deepEqual(f('{"container":{"other":true}}'), []);
  assert.deepEqual(f('{"image":{"nginx":true}}'), [start, exec]);
  assert.deepEqual(f('{"image":{"busybox":true}}'), [pull]);
  assert.deepEqual(f('{"label":{"app=shop":true}}'), [start]);
  assert.deepEqual(f('{"type":{"container":true},"event":{"start":true,"pull":true}}'), [start]);
});

test('since replays history, until ends the stream, live events arrive in between', async () => {
  const bus = new EventBus();
  const a = bus.publish('volume', 'create', { ID: 'v1', Attributes: {} });
  const b = bus.publish('volume', 'remove', { ID: 'v1', Attributes: {} });
  const past = await collect(bus.events({ since: BigInt(a.timeNano), until: BigInt(b.timeNano), filters: none }, new AbortController().signal));
  assert.deepEqual(past, [a, b]);
  const onlyB = await collect(bus.events({ since: BigInt(a.timeNano) + 1n, until: BigInt(b.timeNano), filters: none }, new AbortController().signal));
  assert.deepEqual(onlyB, [b]);

  const until = BigInt(Date.now() + 300) * 1_000_000n;
  const started = Date.now();
  const live = collect(bus.events({ until, filters: parseFilters('{"type":{"network":true}}') }, new AbortController().signal));
  setTimeout(() => { bus.publish('network', 'create', { ID: 'n1', Attributes: {} }); bus.publish('volume', 'create', { ID: 'v2', Attributes: {} }); }, 50);
  const got = await live;
  assert.deepEqual(got.map((e) => e.Actor.ID), ['n1']);
  assert.ok(Date.now() - started >= 250, 'the stream lasted until `until`');
  assert.equal(bus.subscribers, 0);
});

test('a follower ends when its signal aborts', async () => {
  const bus = new EventBus();
  const ac = new AbortController();
  const live = collect(bus.events({ filters: none }, ac.signal));
  await new Promise((r) => setTimeout(r, 10));
  bus.publish('daemon', 'reload', { ID: 'd', Attributes: {} });
  assert.equal(bus.subscribers, 1);
  setTimeout(() => ac.abort(), 20);
  assert.equal((await live).length, 1);
  assert.equal(bus.subscribers, 0);
});
