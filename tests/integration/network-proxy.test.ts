import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { test } from 'node:test';
import { openProxy } from '../../src/daemon/network/proxy.js';

/** A TCP server that answers once its client has shut its sending side: "got <bytes>". */
function halfCloseServer(): Promise<Server> {
  return new Promise((resolve) => {
    const srv = createServer({ allowHalfOpen: true }, (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (d) => chunks.push(d));
      s.on('end', () => s.end(`got ${Buffer.concat(chunks).toString()}`));
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

/** A port free right now (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
  });
}

/** Sends text, shuts the sending side, reads the whole answer. */
function ask(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ host, port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => { c.end(); resolve(Buffer.concat(chunks).toString()); });
    c.on('error', reject);
    c.end(text);
  });
}

test('proxy thread: tcp forwards with half-close, a taken port is a clear error, close frees the port', async () => {
  const srv = await halfCloseServer();
  const port = await freePort();
  const p = await openProxy('tcp', '127.0.0.1', port);
  try {
    // no target yet: the client is closed (a FIN or a reset, as its bytes arrived or not), nothing answers
    assert.ok(['', 'reset'].includes(await ask('127.0.0.1', port, 'x').catch(() => 'reset')));
    p.target = { ip: '127.0.0.1', port: (srv.address() as AddressInfo).port };
    await new Promise((r) => setTimeout(r, 50)); // the target message reaches the thread
    const answers = await Promise.all(Array.from({ length: 20 }, (_v, i) => ask('127.0.0.1', port, `hello ${i}`)));
    answers.forEach((a, i) => assert.equal(a, `got hello ${i}`));
    await assert.rejects(openProxy('tcp', '127.0.0.1', port), { message: `Bind for 127.0.0.1:${port} failed: port is already allocated` });
  } finally {
    await p.close();
    srv.close();
  }
  const again = await openProxy('tcp', '127.0.0.1', port);
  await again.close();
});

test('proxy thread: udp forwards each client and answers it', async () => {
  const echo = createSocket('udp4');
  echo.on('message', (m, from) => echo.send(Buffer.concat([Buffer.from('echo '), m]), from.port, from.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
  const port = await freePort();
  const p = await openProxy('udp', '127.0.0.1', port);
  const client = createSocket('udp4');
  try {
    p.target = { ip: '127.0.0.1', port: echo.address().port };
    await new Promise((r) => setTimeout(r, 50)); // the target message reaches the thread
    const answer = new Promise<string>((resolve) => client.once('message', (m) => resolve(m.toString())));
    client.send('ping', port, '127.0.0.1');
    assert.equal(await answer, 'echo ping');
  } finally {
    client.close();
    echo.close();
    await p.close();
  }
});
