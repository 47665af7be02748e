/**
 * The API server on a temporary unix socket with small routes of its own:
 * errors in Docker's JSON with their statuses, version prefixes, bodies,
 * hijacked streams and JSON-lines streams, shutdown.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, type ErrorKind } from '../../src/common/errors.js';
import { nullLogger } from '../../src/common/log.js';
import { createApiServer, type ApiServer } from '../../src/api/server.js';
import { parseHost } from '../../src/api/listeners.js';
import { readJsonObject, sendJson } from '../../src/api/context.js';
import { hijack } from '../../src/api/hijack.js';
import { encodeFrames, FrameDecoder, STDOUT } from '../../src/api/stdcopy.js';
import { startJsonStream } from '../../src/api/stream.js';
import { HttpError } from '../../src/api/status.js';
import type { Route } from '../../src/api/router.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-api-'));
const sock = join(dir, 'api.sock');
let server: ApiServer;

const routes: Route[] = [
  { method: 'GET', path: '/echo/{id}', handler: (ctx) => sendJson(ctx.res, 200, { version: ctx.version, id: ctx.params.id, q: ctx.query.get('q') }) },
  { method: 'GET', path: '/fail/{kind}', handler: (ctx) => { throw new BerthError(ctx.params.kind as ErrorKind, `cannot do it: ${ctx.params.kind}`); } },
  { method: 'GET', path: '/unauthorized', handler: () => { throw new HttpError(401, 'login attempt to x failed with status: 401 Unauthorized'); } },
  { method: 'GET', path: '/crash', handler: () => { throw new TypeError('boom'); } },
  { method: 'POST', path: '/body', handler: async (ctx) => sendJson(ctx.res, 200, { got: await readJsonObject(ctx.req, 'the body') ?? null }) },
  {
    method: 'POST', path: '/attach', handler: (ctx) => {
      const { socket } = hijack(ctx);
      socket.on('data', (d: Buffer) => {
        socket.write(encodeFrames(STDOUT, d.toString().toUpperCase()));
        if (d.toString().includes('bye')) socket.end();
      });
    },
  },
  {
    method: 'GET', path: '/stream', handler: async (ctx) => {
      const s = startJsonStream(ctx.res);
      await s.write({ n: 1 });
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      s.end();
    },
  },
];

before(async () => {
  server = createApiServer({ routes, log: nullLogger, engineVersion: '9.9.9' });
  await server.listen([parseHost(`unix://${sock}`)]);
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the unix socket is 0660', async () => {
  const { statSync } = await import('node:fs');
  assert.equal(statSync(sock).mode & 0o777, 0o660);
});

test('the version prefix reaches the handler; every answer carries the negotiation headers', async () => {
  const a = await call('GET', '/v1.43/echo/web?q=x');
  assert.deepEqual(JSON.parse(a.body), { version: '1.43', id: 'web', q: 'x' });
  assert.equal(a.headers['api-version'], '1.47');
  assert.equal(a.headers['server'], 'Berth/9.9.9 (linux)');
  assert.equal(a.headers['ostype'], 'linux');
  assert.equal(a.headers['docker-experimental'], 'false');
  assert.equal(JSON.parse((await call('GET', '/echo/web')).body).version, '1.47');
  const tooNew = await call('GET', '/v1.99/echo/web');
  assert.equal(tooNew.status, 400);
  assert.deepEqual(JSON.parse(tooNew.body), { message: 'client version 1.99 is too new. Maximum supported API version is 1.47' });
});

test('errors become {"message"} with the status of their kind', async () => {
  const expect: Record<string, number> = {
    'not-found': 404, 'already-exists': 409, 'invalid-argument': 400, 'failed-precondition': 409,
    'permission-denied': 403, unavailable: 503, internal: 500,
  };
  for (const [kind, status] of Object.entries(expect)) {
    const a = await call('GET', `/fail/${kind}`);
    assert.equal(a.status, status, kind);
    assert.equal(a.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(a.body), { message: `cannot do it: ${kind}` });
  }
  assert.equal((await call('GET', '/unauthorized')).status, 401);
  const crash = await call('GET', '/crash');
  assert.equal(crash.status, 500);
  assert.deepEqual(JSON.parse(crash.body), { message: 'boom' });
});

test('unknown routes are 404 page not found, wrong methods 405', async () => {
  const a = await call('GET', '/v1.47/nothing/here');
  assert.equal(a.status, 404);
  assert.deepEqual(JSON.parse(a.body), { message: 'page not found' });
  const b = await call('DELETE', '/echo/x');
  assert.equal(b.status, 405);
  assert.equal(b.headers['allow'], 'GET');
});

test('JSON bodies: malformed, wrong content type, not an object, too large; unknown fields kept', async () => {
  const json = { 'Content-Type': 'application/json' };
  const bad = await call('POST', '/body', '{"a": ', json);
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).message, /^invalid JSON: /);
  const text = await call('POST', '/body', '{}', { 'Content-Type': 'text/plain' });
  assert.equal(text.status, 400);
  assert.match(JSON.parse(text.body).message, /unsupported Content-Type header \(text\/plain\)/);
  assert.equal((await call('POST', '/body', '[1]', json)).status, 400);
  assert.deepEqual(JSON.parse((await call('POST', '/body', '{"Unknown":1}', json)).body), { got: { Unknown: 1 } });
  assert.deepEqual(JSON.parse((await call('POST', '/body')).body), { got: null });
  const big = await call('POST', '/body', Buffer.alloc(17 * 1024 * 1024, 0x20), json);
  assert.equal(big.status, 413);
});

test('Upgrade: tcp hijacks the connection with 101, both ways', async () => {
  const s = connect(sock);
  s.write('POST /v1.47/attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
  let text = '';
  const decoder = new FrameDecoder();
  let out = '';
  let headerDone = false;
  await new Promise<void>((resolve, reject) => {
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      if (!headerDone) {
        text += d.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return;
        headerDone = true;
        assert.match(text, /^HTTP\/1.1 101 UPGRADED\r\n/);
        assert.match(text, /\r\nConnection: Upgrade\r\n/);
        assert.match(text, /\r\nUpgrade: tcp\r\n/);
        const rest = Buffer.from(text.slice(end + 4), 'latin1');
        out += decoder.push(rest).map((f) => f.payload.toString()).join('');
        s.write('hello ');
        setTimeout(() => s.write('bye'), 20);
        return;
      }
      out += decoder.push(d).map((f) => f.payload.toString()).join('');
    });
    s.on('end', () => resolve());
  });
  s.destroy();
  assert.equal(out, 'HELLO BYE');
});

test('a request without Upgrade gets the plain 200 hijack', async () => {
  const s = connect(sock);
  s.write('POST /attach HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
  const first = await new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
  assert.match(first, /^HTTP\/1.1 200 OK\r\nContent-Type: application\/vnd.docker.raw-stream\r\n/);
  s.destroy();
});

test('a JSON-lines stream sends its headers at once and ends when the server closes', async () => {
  const got = await new Promise<{ status: number; first: string; ended: Promise<void> }>((resolve, reject) => {
    const req = request({ socketPath: sock, method: 'GET', path: '/stream' }, (res) => {
      res.once('data', (d: Buffer) => resolve({ status: res.statusCode!, first: d.toString(), ended: new Promise((r) => res.on('end', () => r())) }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(got.status, 200);
  assert.deepEqual(JSON.parse(got.first), { n: 1 });
  await server.close();
  await got.ended;
  assert.equal(existsSync(sock), false, 'socket removed at close');
});
