import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router, splitVersion } from '../../src/api/router.js';
import { compareVersions, negotiate, API_VERSION } from '../../src/api/version.js';

const noop = (): void => {};

test('routes match with parameters, greedy parameters and an optional trailing slash', () => {
  const r = new Router([
    { method: 'POST', path: '/containers/{id}/start', handler: noop },
    { method: 'GET', path: '/images/{name:.*}/json', handler: noop },
    { method: 'GET', path: '/containers/json', handler: noop },
  ]);
  const m = r.match('POST', '/containers/abc%20d/start');
  assert.equal(m.kind, 'found');
  assert.deepEqual(m.kind === 'found' && m.params, { id: 'abc d' });
  const img = r.match('GET', '/images/127.0.0.1:5000/library/busybox:1/json');
  assert.deepEqual(img.kind === 'found' && img.params, { name: '127.0.0.1:5000/library/busybox:1' });
  assert.equal(r.match('GET', '/containers/json/').kind, 'found');
  assert.equal(r.match('GET', '/containers/a/b/start').kind, 'none');
});

test('a known path with another method is told apart from an unknown path', () => {
  const r = new Router([{ method: 'GET', path: '/_ping', handler: noop }, { method: 'HEAD', path: '/_ping', handler: noop }]);
  assert.deepEqual(r.match('POST', '/_ping'), { kind: 'wrong-method', allowed: ['GET', 'HEAD'] });
  assert.deepEqual(r.match('GET', '/nope'), { kind: 'none' });
});

test('the /v1.xx prefix is split off', () => {
  assert.deepEqual(splitVersion('/v1.45/containers/json'), { version: '1.45', path: '/containers/json' });
  assert.deepEqual(splitVersion('/containers/json'), { version: undefined, path: '/containers/json' });
  assert.deepEqual(splitVersion('/version'), { version: undefined, path: '/version' });
  assert.deepEqual(splitVersion('/v1.99/_ping'), { version: '1.99', path: '/_ping' });
});

test('versions compare per component and negotiate within 1.41 to 1.47', () => {
  assert.equal(compareVersions('1.9', '1.41'), -1);
  assert.equal(compareVersions('1.47', '1.47.0'), 0);
  assert.equal(compareVersions('2.0', '1.47'), 1);
  assert.equal(negotiate(undefined), API_VERSION);
  assert.equal(negotiate('1.41'), '1.41');
  assert.equal(negotiate('1.44'), '1.44');
  assert.throws(() => negotiate('1.48'), { kind: 'invalid-argument', message: 'client version 1.48 is too new. Maximum supported API version is 1.47' });
  assert.throws(() => negotiate('1.40'), { message: 'client version 1.40 is too old. Minimum supported API version is 1.41, please upgrade your client to a newer version' });
});
