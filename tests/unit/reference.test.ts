/**
 * References normalised as Docker does, the familiar form for display, and
 * clear invalid-argument errors for bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/common/errors.js';
import {
  apiHost, DOCKER_HUB_API_HOST, familiarString, formatReference, manifestSelector, parseReference,
} from '../../src/core/distribution/reference.js';

const D = 'sha256:' + 'ab'.repeat(32);

test('short names are docker.io names with the latest tag', () => {
  const cases: [string, string, string][] = [
    ['nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['docker.io/nginx:1.25', 'docker.io/library/nginx:1.25', 'nginx:1.25'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
    ['docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
    ['host:5000/a/b:tag', 'host:5000/a/b:tag', 'host:5000/a/b:tag'],
    ['localhost/x', 'localhost/x:latest', 'localhost/x:latest'],
    ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest', '127.0.0.1:5000/x:latest'],
    ['registry.example/a_b/c-d.e__f', 'registry.example/a_b/c-d.e__f:latest', 'registry.example/a_b/c-d.e__f:latest'],
    [`name@${D}`, `docker.io/library/name@${D}`, `name@${D}`],
    [`name:tag@${D}`, `docker.io/library/name:tag@${D}`, `name:tag@${D}`],
    [`[::1]:5000/x:1`, '[::1]:5000/x:1', '[::1]:5000/x:1'],
  ];
  for (const [input, full, familiar] of cases) {
    const ref = parseReference(input);
    assert.equal(formatReference(ref), full, input);
    assert.equal(familiarString(ref), familiar, input);
  }
});

test('the parts, the selector and the API host', () => {
  assert.deepEqual(parseReference('host:5000/a/b:tag'), { domain: 'host:5000', path: 'a/b', tag: 'tag' });
  assert.deepEqual(parseReference(`x:1@${D}`), { domain: 'docker.io', path: 'library/x', tag: '1', digest: D });
  assert.equal(manifestSelector(parseReference(`x:1@${D}`)), D);
  assert.equal(manifestSelector(parseReference('x')), 'latest');
  assert.deepEqual(parseReference('x', { defaultTag: false }), { domain: 'docker.io', path: 'library/x' });
  assert.equal(apiHost('docker.io'), DOCKER_HUB_API_HOST);
  assert.equal(apiHost('127.0.0.1:5000'), '127.0.0.1:5000');
  // an uppercase first component is a host, not a repository
  assert.equal(parseReference('Foo/bar').domain, 'Foo');
});

test('bad references are invalid-argument with the reason', () => {
  const cases: [string, RegExp][] = [
    ['', /empty reference/],
    ['Nginx', /repository name must be lowercase/],
    ['user/App', /repository name must be lowercase/],
    ['nginx:bad/tag', /invalid registry host "nginx:bad"/],
    ['nginx:-x', /invalid tag "-x"/],
    [`nginx:${'a'.repeat(129)}`, /invalid tag/],
    ['nginx@sha256:abc', /invalid sha256 digest/],
    ['nginx@md5:' + 'a'.repeat(32), /unsupported digest algorithm md5/],
    ['nginx@sha256:' + 'AB'.repeat(32), /invalid sha256 digest/],
    ['ab'.repeat(32), /64-byte hexadecimal/],
    ['a//b', /invalid repository name component ""/],
    ['a/b_', /invalid repository name component "b_"/],
    ['host:port/x', /invalid registry host/],
    ['has space', /whitespace/],
    [`h.io/${'a'.repeat(256)}`, /longer than 255/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => parseReference(input), (err: unknown) => {
      assert.ok(err instanceof BerthError, input);
      assert.equal(err.kind, 'invalid-argument', input);
      assert.match(err.message, re, input);
      assert.ok(err.message.startsWith(`invalid reference ${JSON.stringify(input)}`), err.message);
      return true;
    });
  }
});
