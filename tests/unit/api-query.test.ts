import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boolParam, intParam, parseFilters, timestampParam } from '../../src/api/query.js';

test('booleans are read as Docker reads them', () => {
  const q = new URLSearchParams('a=1&b=true&c=True&d=0&e=false&f=&g=no&h=none&i=yes');
  assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((k) => boolParam(q, k)), [true, true, true, false, false, false, false, false, true]);
  assert.equal(boolParam(q, 'absent'), false);
  assert.equal(boolParam(q, 'absent', true), true);
});

test('integers and timestamps', () => {
  const q = new URLSearchParams('n=42&bad=4x&t=1700000000.5&s=1700000000&neg=-3');
  assert.equal(intParam(q, 'n', 0), 42);
  assert.equal(intParam(q, 'neg', 0), -3);
  assert.equal(intParam(q, 'absent', 7), 7);
  assert.throws(() => intParam(q, 'bad', 0), /invalid value for bad/);
  assert.equal(timestampParam(q, 't'), 1_700_000_000_500_000_000n);
  assert.equal(timestampParam(q, 's'), 1_700_000_000_000_000_000n);
  assert.equal(timestampParam(q, 'absent'), undefined);
  assert.throws(() => timestampParam(new URLSearchParams('t=yesterday'), 't'), /not a timestamp/);
});

test('filters: the map form and the old list form', () => {
  const f = parseFilters('{"label":{"a=b":true,"c":true,"off":false},"type":{"container":true}}');
  assert.deepEqual(f.get('label').sort(), ['a=b', 'c']);
  assert.ok(f.has('type') && !f.has('event'));
  const old = parseFilters('{"label":["a=b"],"event":["start","die"]}');
  assert.deepEqual(old.get('event'), ['start', 'die']);
  assert.deepEqual(old.toJSON(), { label: { 'a=b': true }, event: { start: true, die: true } });
  assert.equal(parseFilters(null).size, 0);
  assert.equal(parseFilters('').size, 0);
});

test('malformed filters and unknown keys are refused', () => {
  assert.throws(() => parseFilters('{label'), /invalid filters/);
  assert.throws(() => parseFilters('[1]'), /not a JSON object/);
  assert.throws(() => parseFilters('{"label":"a"}'), /must be an object of values or a list/);
  assert.throws(() => parseFilters('{"label":{"a":"yes"}}'), /must be true or false/);
  assert.throws(() => parseFilters('{"nope":{"a":true}}').validate(['label']), { kind: 'invalid-argument', message: "invalid filter 'nope'" });
});

test('matching: exact values and labels (k, k=v, k!=v)', () => {
  const f = parseFilters('{"label":{"app":true,"tier=web":true,"env!=prod":true},"type":{"container":true}}');
  assert.equal(f.exact('type', 'container'), true);
  assert.equal(f.exact('type', 'image'), false);
  assert.equal(f.exact('event', 'anything'), true);
  assert.equal(f.matchLabels('label', { app: 'x', tier: 'web', env: 'dev' }), true);
  assert.equal(f.matchLabels('label', { app: 'x', tier: 'web', env: 'prod' }), false);
  assert.equal(f.matchLabels('label', { app: 'x', tier: 'db' }), false);
  assert.equal(f.matchLabels('label', { tier: 'web' }), false);
});
