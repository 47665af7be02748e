/**
 * Registry auth as pure logic: WWW-Authenticate parsing, the authorizer's
 * answers to Basic and Bearer challenges (a recorded token realm stands in
 * for the HTTP layer; the real exchange is in tests/integration/registry),
 * token caching until expiry; and credentials in Docker's config.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/common/errors.js';
import { Authorizer, basicHeader, parseChallenges } from '../../src/core/distribution/auth.js';
import { DOCKER_HUB_AUTH_KEY, dockerConfigPath, readCredentials, removeCredentials, storeCredentials } from '../../src/core/distribution/credentials.js';

test('WWW-Authenticate challenges are parsed', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:library/nginx:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:library/nginx:pull' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="basic-realm"'), [{ scheme: 'basic', params: { realm: 'basic-realm' } }]);
  assert.deepEqual(parseChallenges(['Basic realm=x', 'Bearer realm="a,b", error="insufficient_scope"']), [
    { scheme: 'basic', params: { realm: 'x' } },
    { scheme: 'bearer', params: { realm: 'a,b', error: 'insufficient_scope' } },
  ]);
  assert.deepEqual(parseChallenges(undefined), []);
});

interface Recorded { url: URL; headers: Record<string, string> }

function realm(answers: { status: number; body: unknown }[]): { get: (url: URL, headers: Record<string, string>) => Promise<{ status: number; body: Buffer }>; calls: Recorded[] } {
  const calls: Recorded[] = [];
  return {
    calls,
    get: async (url, headers) => {
      calls.push({ url, headers });
      const a = answers.shift() ?? { status: 500, body: {} };
      return { status: a.status, body: Buffer.from(JSON.stringify(a.body)) };
    },
  };
}

const bearer = parseChallenges('Bearer realm="http://auth.test/token",service="reg.test"');
const SCOPE = ['repository:a/b:pull'];

test('bearer: token fetched with service, scopes and basic credentials, cached until expiry', async () => {
  let now = 1_000_000;
  const r = realm([{ status: 200, body: { token: 't1', expires_in: 120 } }, { status: 200, body: { access_token: 't2' } }]);
  const creds = { username: 'u', password: 'p:w' };
  const a = new Authorizer({ host: 'reg.test', credentials: creds, get: r.get, now: () => now });
  assert.equal(await a.header(SCOPE), undefined, 'nothing known before the first challenge');
  assert.equal(await a.answer(bearer, SCOPE), 'Bearer t1');
  assert.equal(r.calls[0]!.url.searchParams.get('service'), 'reg.test');
  assert.deepEqual(r.calls[0]!.url.searchParams.getAll('scope'), SCOPE);
  assert.equal(r.calls[0]!.headers.authorization, basicHeader(creds));
  assert.equal(Buffer.from(basicHeader(creds).slice(6), 'base64').toString(), 'u:p:w');
  assert.equal(await a.header(SCOPE), 'Bearer t1');
  assert.equal(r.calls.length, 1, 'cached');
  now += 120_000;
  assert.equal(await a.header(SCOPE), 'Bearer t2', 'expired: fetched again');
  assert.equal(r.calls.length, 2);
});

test('bearer: a rejected token is replaced; other scopes get their own token', async () => {
  const r = realm([{ status: 200, body: { token: 'a' } }, { status: 200, body: { token: 'b' } }, { status: 200, body: { token: 'c' } }]);
  const a = new Authorizer({ host: 'reg.test', get: r.get });
  assert.equal(await a.answer(bearer, SCOPE), 'Bearer a');
  assert.equal(await a.answer(bearer, SCOPE, 'Bearer a'), 'Bearer b');
  assert.equal(await a.header(['repository:a/b:pull,push']), 'Bearer c');
  assert.equal(r.calls[0]!.headers.authorization, undefined, 'anonymous without credentials');
});

test('refusals are permission-denied naming the registry', async () => {
  const kindOf = async (p: Promise<unknown>): Promise<BerthError> => {
    try { await p; } catch (e) { assert.ok(e instanceof BerthError); return e; }
    assert.fail('expected a failure');
  };
  const denied = new Authorizer({ host: 'reg.test', credentials: { username: 'u', password: 'bad' }, get: realm([{ status: 401, body: {} }]).get });
  const e1 = await kindOf(denied.answer(bearer, SCOPE));
  assert.equal(e1.kind, 'permission-denied');
  assert.match(e1.message, /token server http:\/\/auth\.test\/token for reg\.test refused the credentials of u/);
  const noCreds = new Authorizer({ host: 'reg.test', get: realm([]).get });
  const e2 = await kindOf(noCreds.answer(parseChallenges('Basic realm=x'), SCOPE));
  assert.equal(e2.kind, 'permission-denied');
  assert.match(e2.message, /^reg\.test requires authentication/);
  const e3 = await kindOf(noCreds.answer(parseChallenges('Negotiate'), SCOPE));
  assert.match(e3.message, /unsupported scheme \(negotiate\)/);
  const noToken = new Authorizer({ host: 'reg.test', get: realm([{ status: 200, body: {} }]).get });
  assert.equal((await kindOf(noToken.answer(bearer, SCOPE))).kind, 'unavailable');
});

test('basic: the stored credentials, sent at once after the first challenge', async () => {
  const a = new Authorizer({ host: 'reg.test', credentials: { username: 'u', password: 'p' }, get: realm([]).get });
  assert.equal(await a.answer(parseChallenges('Basic realm="r"'), SCOPE), basicHeader({ username: 'u', password: 'p' }));
  assert.equal(await a.header(['repository:x:pull']), basicHeader({ username: 'u', password: 'p' }));
});

test('credentials round-trip through config.json, other fields kept, docker.io under its index key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-auth-'));
  try {
    assert.equal(dockerConfigPath({ DOCKER_CONFIG: dir }), join(dir, 'config.json'));
    assert.equal(dockerConfigPath({ HOME: '/home/x' }), '/home/x/.docker/config.json');
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ auths: { 'https://old.example/v1/': { auth: Buffer.from('o:p').toString('base64') } }, psFormat: 'table' }));
    storeCredentials('127.0.0.1:5000', { username: 'me', password: 's3:cret' }, path);
    storeCredentials('docker.io', { username: 'hub', password: 'pw' }, path);
    const file = JSON.parse(readFileSync(path, 'utf8')) as { auths: Record<string, { auth: string }>; psFormat: string };
    assert.equal(file.psFormat, 'table');
    assert.equal(Buffer.from(file.auths['127.0.0.1:5000']!.auth, 'base64').toString(), 'me:s3:cret');
    assert.ok(file.auths[DOCKER_HUB_AUTH_KEY]);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readCredentials('127.0.0.1:5000', path), { username: 'me', password: 's3:cret' });
    assert.deepEqual(readCredentials('docker.io', path), { username: 'hub', password: 'pw' });
    assert.deepEqual(readCredentials('old.example', path), { username: 'o', password: 'p' }, 'keys with scheme and path match by host');
    assert.equal(readCredentials('other.example', path), undefined);
    assert.equal(removeCredentials('docker.io', path), true);
    assert.equal(readCredentials('docker.io', path), undefined);
    assert.equal(removeCredentials('docker.io', path), false);
    assert.equal(readCredentials('x', join(dir, 'missing.json')), undefined);
    writeFileSync(path, '{not json');
    assert.throws(() => readCredentials('x', path), (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument' && e.message.includes(path));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
