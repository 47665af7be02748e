import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInsecure, parseChallenge, registryHost } from '../../src/daemon/login.js';
import { parseAuthRequest } from '../../src/api/routes/system.js';

test('the registry host is taken from what docker login sends', () => {
  assert.equal(registryHost('https://index.docker.io/v1/'), 'registry-1.docker.io');
  assert.equal(registryHost('127.0.0.1:5000'), '127.0.0.1:5000');
  assert.equal(registryHost('http://reg.example:5000/v2/'), 'reg.example:5000');
});

test('insecure registries: listed hosts, listed CIDRs, and 127.0.0.0/8 always', () => {
  assert.equal(isInsecure('127.0.0.1:5000', []), true);
  assert.equal(isInsecure('localhost:5000', []), true);
  assert.equal(isInsecure('10.1.2.3:5000', ['10.0.0.0/8']), true);
  assert.equal(isInsecure('reg.lan:5000', ['reg.lan:5000']), true);
  assert.equal(isInsecure('reg.lan:5000', ['reg.lan:5001']), false);
  assert.equal(isInsecure('192.168.1.1', ['10.0.0.0/8']), false);
});

test('WWW-Authenticate challenges', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"'), {
    scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a:pull' },
  });
  assert.deepEqual(parseChallenge('Basic realm="berth"'), { scheme: 'basic', params: { realm: 'berth' } });
  assert.equal(parseChallenge(undefined), undefined);
});

test('the /auth request shape: credentials and server required, unknown fields tolerated', () => {
  assert.deepEqual(parseAuthRequest({ username: 'a', password: 'b', serveraddress: ' r:5000 ', email: 'x@y' }),
    { username: 'a', password: 'b', serveraddress: 'r:5000', identitytoken: undefined, registrytoken: undefined });
  assert.throws(() => parseAuthRequest(undefined), /empty body/);
  assert.throws(() => parseAuthRequest({ username: 'a', serveraddress: 'r' }), /username and password are required/);
  assert.throws(() => parseAuthRequest({ username: 'a', password: 'b' }), /serveraddress is required/);
  assert.throws(() => parseAuthRequest({ username: 1, password: 'b', serveraddress: 'r' }), /username must be a string/);
});
