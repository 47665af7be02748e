/**
 * Proxies that stand in front of a test registry and misbehave on purpose:
 *
 * - a TCP proxy (`startTcpProxy`) that passes bytes through, cuts
 *   connections after N bytes from the registry (once, or every time), slows
 *   the registry's answers to a byte rate, or accepts and never answers;
 * - an HTTP proxy (`startHttpProxy`) that answers chosen requests itself
 *   (a 500 for blobs, a manifest the registry would not store) and forwards
 *   the rest.
 *
 * Both listen on a free port of 127.0.0.1 (an insecure registry for Berth)
 * and close every socket they opened on stop().
 *   const p = await startTcpProxy(reg.host, { mode: 'cut', afterBytes: 64 << 10, times: Infinity });
 */
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type TcpFault =
  | { mode: 'pass' }
  /** the first `times` connections that carry more than afterBytes from the registry are cut there */
  | { mode: 'cut'; afterBytes: number; times: number }
  /** the registry's bytes reach the client at this rate */
  | { mode: 'throttle'; bytesPerSecond: number }
  /** connections are accepted and never answered (nothing is forwarded) */
  | { mode: 'hang' };

export interface FaultProxy {
  /** "127.0.0.1:<port>" */
  host: string;
  connections(): number;
  /** connections cut so far (cut mode) */
  cuts(): number;
  stop(): Promise<void>;
}

export interface TcpProxy extends FaultProxy {
  /** the fault for connections accepted from now on */
  set(fault: TcpFault): void;
  /** the offsets of the Range requests seen (`range: bytes=<n>-`), in order */
  ranges(): number[];
}

function hostPort(target: string): [string, number] {
  const i = target.lastIndexOf(':');
  return [target.slice(0, i), Number(target.slice(i + 1))];
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Writes upstream's bytes to client at `rate` bytes per second, pausing upstream while they queue; ends client when both are done. */
function throttle(upstream: Socket, client: Socket, rate: number): void {
  const queue: Buffer[] = [];
  let upstreamClosed = false;
  const tickMs = 50;
  const perTick = Math.max(1, Math.floor((rate * tickMs) / 1000));
  const timer = setInterval(() => {
    let budget = perTick;
    while (budget > 0 && queue.length > 0) {
      const head = queue[0]!;
      const part = head.subarray(0, budget);
      if (part.length === head.length) queue.shift(); else queue[0] = head.subarray(budget);
      budget -= part.length;
      client.write(part);
    }
    if (queue.length > 0) return;
    if (upstreamClosed) { clearInterval(timer); client.destroy(); } else upstream.resume();
  }, tickMs);
  upstream.on('data', (d: Buffer) => { queue.push(d); upstream.pause(); });
  upstream.on('close', () => { upstreamClosed = true; });
  client.on('close', () => { clearInterval(timer); upstream.destroy(); });
}

export async function startTcpProxy(target: string, initial: TcpFault): Promise<TcpProxy> {
  let fault = initial;
  const [th, tp] = hostPort(target);
  let cuts = 0;
  let connections = 0;
  const ranges: number[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket): Socket => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); return s; };
  const server = createServer((client) => {
    const f = fault;
    connections++;
    track(client);
    if (f.mode === 'hang') return;
    const upstream = track(createConnection(tp, th));
    client.on('data', (d: Buffer) => {
      for (const m of d.toString('latin1').matchAll(/^range: *bytes=(\d+)-/gim)) ranges.push(Number(m[1]));
      upstream.write(d);
    });
    if (f.mode === 'throttle') { throttle(upstream, client, f.bytesPerSecond); return; }
    const end = (): void => { client.destroy(); upstream.destroy(); };
    client.on('close', end); upstream.on('close', end);
    let sent = 0;
    let cutting = false;
    upstream.on('data', (d: Buffer) => {
      if (cutting) return;
      if (f.mode === 'cut' && cuts < f.times && sent + d.length > f.afterBytes) {
        cuts++;
        cutting = true;
        client.write(d.subarray(0, f.afterBytes - sent), () => end());
        return;
      }
      sent += d.length;
      client.write(d);
    });
  });
  const host = await listen(server);
  return {
    host, cuts: () => cuts, connections: () => connections,
    set: (next) => { fault = next; },
    ranges: () => [...ranges],
    stop: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** A response the HTTP proxy sends itself (a HEAD gets the headers and the body's length only). */
export interface Answer { status: number; headers?: Record<string, string>; body: Buffer }

/** What the HTTP proxy answers itself; undefined forwards the request to the registry. */
export type HttpAnswer = (method: string, path: string) => Answer | undefined;

/** A registry's error response (distribution spec error body). */
export function registryErrorAnswer(status: number, code: string, message: string): Answer {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ errors: [{ code, message }] })) };
}

function forward(th: string, tp: number, req: IncomingMessage, res: ServerResponse): void {
  const up = httpRequest({ host: th, port: tp, method: req.method, path: req.url, headers: req.headers }, (ur) => {
    res.writeHead(ur.statusCode ?? 502, ur.headers);
    ur.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
}

export async function startHttpProxy(target: string, answer: HttpAnswer): Promise<FaultProxy & { answered(): number }> {
  const [th, tp] = hostPort(target);
  let connections = 0;
  let answered = 0;
  const server = createHttpServer((req, res) => {
    const a = answer(req.method ?? 'GET', req.url ?? '/');
    if (!a) { forward(th, tp, req, res); return; }
    answered++;
    req.resume();
    res.writeHead(a.status, { ...a.headers, 'content-length': String(a.body.length) });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  });
  server.on('connection', () => { connections++; });
  const host = await listen(server);
  return {
    host, connections: () => connections, cuts: () => 0, answered: () => answered,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
