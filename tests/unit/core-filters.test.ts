import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesAny, parseFilter } from '../../src/core/containers/filters.js';
import type { ContainerRecord } from '../../src/core/containers/store.js';
import { EventBus, passes, topicMatches, isValidTopic, type EventEnvelope } from '../../src/core/events.js';
import { checkIdentifier } from '../../src/core/identifiers.js';

const c = (id: string, labels: Record<string, string>, image = ''): ContainerRecord => ({
  namespace: 'default', id, image, spec: Buffer.alloc(0), runtime: { name: 'berth-runtime', options: Buffer.alloc(0) },
  rootfs: '', snapshotKey: '', snapshotter: '', labels, createdAt: 0, updatedAt: 0,
});

test('container filters: conditions are ANDed within a filter, filters ORed', () => {
  const web = c('web', { app: 'web', 'a.b': 'x' }, 'nginx');
  const db = c('db', { app: 'db' });
  const pick = (...fs: string[]) => [web, db].filter((x) => matchesAny(x, fs.map(parseFilter))).map((x) => x.id);
  assert.deepEqual(pick(), ['web', 'db']);
  assert.deepEqual(pick('labels.app==web'), ['web']);
  assert.deepEqual(pick('labels.app!=web'), ['db']);
  assert.deepEqual(pick('labels."a.b"'), ['web']);
  assert.deepEqual(pick('labels.app==web,image==nginx'), ['web']);
  assert.deepEqual(pick('labels.app==web,image==alpine'), []);
  assert.deepEqual(pick('id==db', 'image==nginx'), ['web', 'db']);
  assert.deepEqual(pick('runtime==runc'), []);
  assert.throws(() => parseFilter('colour==red'), /unknown field "colour"/);
  assert.throws(() => parseFilter(' , '), /empty/);
});

test('event filters: topic prefixes on path boundaries, namespaces', () => {
  assert.ok(topicMatches('/containers/create', '/containers'));
  assert.ok(topicMatches('/containers/create', '/containers/'));
  assert.ok(!topicMatches('/containersx/create', '/containers'));
  assert.ok(topicMatches('/anything', ''));
  const e: EventEnvelope = { timestamp: 1, namespace: 'a', topic: '/containers/delete', event: {} };
  assert.ok(passes(e, { topics: [], namespaces: [] }));
  assert.ok(passes(e, { topics: ['/namespaces', '/containers'], namespaces: ['a'] }));
  assert.ok(!passes(e, { topics: ['/containers'], namespaces: ['b'] }));
  assert.ok(isValidTopic('/tasks/exit'));
  assert.ok(!isValidTopic('tasks/exit'));
  assert.ok(!isValidTopic('/Tasks'));
});

test('event bus delivers in order to matching subscribers, ends them on close', () => {
  const bus = new EventBus();
  const seen: string[] = [];
  let ended = 0;
  const off = bus.subscribe({ topics: ['/containers'], namespaces: [] }, (e) => seen.push(e.topic), () => { ended++; });
  bus.subscribe({ topics: [], namespaces: [] }, () => { throw new Error('broken subscriber'); });
  bus.publish('a', '/containers/create', { id: 'x' });
  bus.publish('a', '/namespaces/create', { name: 'a' });
  bus.publish('a', '/containers/delete', { id: 'x' });
  assert.deepEqual(seen, ['/containers/create', '/containers/delete']);
  assert.equal(bus.subscriberCount, 1, 'the throwing subscriber is dropped');
  bus.close();
  assert.equal(ended, 1);
  off();
});

test('identifiers: path-safe names only', () => {
  assert.equal(checkIdentifier('container', 'web-1.a_b'), 'web-1.a_b');
  for (const bad of ['', '../x', 'a/b', '-a', 'x'.repeat(77), 'a b']) {
    assert.throws(() => checkIdentifier('container', bad), /invalid container id/, bad);
  }
});
