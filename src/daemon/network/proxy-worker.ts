/**
 * The userland proxy's own event loop: a worker thread of berthd that holds
 * every published port's socket and forwards its connections, so proxied
 * bytes never wait behind berthd's API work (and berthd's API never waits
 * behind them). A thread, not a process: a kill -9 of berthd takes the
 * sockets with it, so no orphan can hold a host port against the next
 * berthd. The worker's program is `proxyWorkerMain` below, serialized and
 * evaluated in the thread; it must therefore use nothing from outside its
 * own body but the modules it is handed.
 */
import type * as Dgram from 'node:dgram';
import type * as Net from 'node:net';
import type * as WorkerThreads from 'node:worker_threads';

export type WorkerProto = 'tcp' | 'udp';

/** berthd → worker. */
export type ProxyRequest =
  | { op: 'open'; id: number; proto: WorkerProto; host: string; port: number }
  | { op: 'target'; id: number; ip: string; port: number }
  | { op: 'close'; id: number };

/** worker → berthd: the answer to an open or a close. */
export type ProxyReply = { id: number; ok: true } | { id: number; ok: false; code: string; message: string };

export interface WorkerModules { net: typeof Net; dgram: typeof Dgram; wt: typeof WorkerThreads }

/** The worker's program. */
export function proxyWorkerMain(m: WorkerModules): void {
  const UDP_IDLE_MS = 90_000;
  const port = m.wt.parentPort;
  if (!port) return;
  const reply = (r: ProxyReply): void => port.postMessage(r);
  interface Entry { target?: { ip: string; port: number }; close: (done: () => void) => void }
  const entries = new Map<number, Entry>();

  const listenTcp = (host: string, p: number, e: Entry): Promise<Net.Server> => new Promise((resolve, reject) => {
    // half-open both ways: a client that shuts its sending side still gets the whole answer
    const srv = m.net.createServer({ noDelay: true, allowHalfOpen: true });
    const conns = new Set<Net.Socket>();
    srv.on('connection', (client) => {
      const t = e.target;
      if (!t) { client.destroy(); return; }
      const up = m.net.connect({ host: t.ip, port: t.port, noDelay: true, allowHalfOpen: true });
      conns.add(client);
      const end = (): void => { client.destroy(); up.destroy(); conns.delete(client); };
      client.on('error', end); up.on('error', end);
      client.on('close', end); up.on('close', end);
      // pipe ends the other side's writing when one side ends: FIN travels on
      client.pipe(up); up.pipe(client);
    });
    e.close = (done) => { for (const c of conns) c.destroy(); srv.close(() => done()); };
    srv.once('error', reject);
    srv.listen({ host, port: p, exclusive: true, ipv6Only: false }, () => { srv.off('error', reject); resolve(srv); });
  });

  const bindUdp = (host: string, p: number, e: Entry): Promise<Dgram.Socket> => new Promise((resolve, reject) => {
    const s = m.dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
    const peers = new Map<string, { sock: Dgram.Socket; timer: NodeJS.Timeout }>();
    const drop = (key: string): void => {
      const x = peers.get(key);
      if (!x) return;
      clearTimeout(x.timer);
      try { x.sock.close(); } catch { /* closed */ }
      peers.delete(key);
    };
    s.on('message', (msg, from) => {
      const t = e.target;
      if (!t) return;
      const key = `${from.address}/${from.port}`;
      let peer = peers.get(key);
      if (!peer) {
        const ps = m.dgram.createSocket('udp4');
        ps.on('message', (answer) => { peers.get(key)?.timer.refresh(); s.send(answer, from.port, from.address); });
        ps.on('error', () => drop(key));
        peer = { sock: ps, timer: setTimeout(() => drop(key), UDP_IDLE_MS) };
        peers.set(key, peer);
      }
      peer.timer.refresh();
      peer.sock.send(msg, t.port, t.ip);
    });
    e.close = (done) => { for (const k of [...peers.keys()]) drop(k); try { s.close(() => done()); } catch { done(); } };
    s.once('error', reject);
    s.bind({ address: host, port: p, exclusive: true }, () => { s.off('error', reject); s.on('error', () => undefined); resolve(s); });
  });

  const bind = (proto: WorkerProto, host: string, p: number, e: Entry): Promise<unknown> => (proto === 'tcp' ? listenTcp(host, p, e) : bindUdp(host, p, e));

  /** A wildcard port listens on both stacks when the host has IPv6, else on IPv4. */
  const open = async (r: Extract<ProxyRequest, { op: 'open' }>): Promise<void> => {
    const e: Entry = { close: (done) => done() };
    try {
      if (r.host) await bind(r.proto, r.host, r.port, e);
      else {
        try { await bind(r.proto, '::', r.port, e); } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw err;
          await bind(r.proto, '0.0.0.0', r.port, e);
        }
      }
      entries.set(r.id, e);
      reply({ id: r.id, ok: true });
    } catch (err) {
      reply({ id: r.id, ok: false, code: (err as NodeJS.ErrnoException).code ?? '', message: (err as Error).message });
    }
  };

  port.on('message', (r: ProxyRequest) => {
    if (r.op === 'open') { void open(r); return; }
    const e = entries.get(r.id);
    if (r.op === 'target') { if (e) e.target = { ip: r.ip, port: r.port }; return; }
    entries.delete(r.id);
    if (!e) { reply({ id: r.id, ok: true }); return; }
    e.close(() => reply({ id: r.id, ok: true }));
  });
}

/**
 * The worker's source: the function above called with the modules. tsx
 * (tests) names functions through an `__name` helper outside the body; the
 * worker defines its own.
 */
export function proxyWorkerSource(): string {
  return `"use strict";var __name=(f)=>f;(${proxyWorkerMain.toString()})({net:require("node:net"),dgram:require("node:dgram"),wt:require("node:worker_threads")});`;
}
