/**
 * The userland proxy of a published port (docker-proxy's role): it holds the
 * host port (so a second publish of it fails at bind, before anything is
 * made) and forwards what the kernel's DNAT does not rewrite — IPv6 clients
 * of a wildcard port, connections made while the rules are being rewritten.
 * TCP: a connection per client; UDP: a socket per client address, closed
 * after a quiet minute and a half. All ports of a berthd live on one worker
 * thread (proxy-worker.ts): its own event loop, gone with the process.
 */
import { Worker } from 'node:worker_threads';
import { BerthError } from '../../common/errors.js';
import type { Proto } from './ports.js';
import { proxyWorkerSource, type ProxyReply, type ProxyRequest } from './proxy-worker.js';

export interface Target { ip: string; port: number }

export interface PortProxy {
  readonly proto: Proto;
  readonly hostIp: string;
  readonly hostPort: number;
  /** where connections go; until set, TCP clients are closed and datagrams dropped */
  target?: Target;
  close(): Promise<void>;
}

/** The worker and the requests waiting for its answer; made at the first use, again after a crash. */
class ProxyThread {
  private worker?: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: ProxyReply) => void>();

  /** Starts the thread ahead of the first published port (its start is tens of ms). */
  warm(): void { this.thread(); }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(proxyWorkerSource(), { eval: true });
    w.on('message', (r: ProxyReply) => { const done = this.waiting.get(r.id); this.waiting.delete(r.id); done?.(r); this.refIfWaiting(); });
    // a crashed thread took its sockets with it: the waiting fail, the next open makes a new one
    const gone = (why: string): void => {
      if (this.worker !== w) return;
      this.worker = undefined;
      for (const [id, done] of this.waiting) done({ id, ok: false, code: 'EPIPE', message: why });
      this.waiting.clear();
    };
    w.on('error', (err) => gone(`the proxy thread failed: ${err.message}`));
    w.on('exit', (code) => gone(`the proxy thread exited (${code})`));
    w.unref();
    this.worker = w;
    return w;
  }

  /** Only a pending answer keeps the process alive; an idle proxy thread does not. */
  private refIfWaiting(): void {
    if (!this.worker) return;
    if (this.waiting.size > 0) this.worker.ref(); else this.worker.unref();
  }

  newId(): number { return this.nextId++; }

  ask(req: ProxyRequest): Promise<ProxyReply> {
    const w = this.thread();
    return new Promise((resolve) => {
      this.waiting.set(req.id, resolve);
      this.refIfWaiting();
      w.postMessage(req);
    });
  }

  tell(req: ProxyRequest): void { this.worker?.postMessage(req); }

  alive(): boolean { return this.worker !== undefined; }
}

const proxyThread = new ProxyThread();

/** Starts the proxy thread now (berthd's start), so a first `-p` does not pay for it. */
export function warmProxies(): void { proxyThread.warm(); }

class ThreadProxy implements PortProxy {
  private t?: Target;
  private closed = false;

  constructor(readonly proto: Proto, readonly hostIp: string, readonly hostPort: number, private readonly id: number) {}

  get target(): Target | undefined { return this.t; }

  set target(t: Target | undefined) {
    this.t = t;
    if (t) proxyThread.tell({ op: 'target', id: this.id, ip: t.ip, port: t.port });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (proxyThread.alive()) await proxyThread.ask({ op: 'close', id: this.id });
  }
}

function inUse(hostIp: string, port: number, proto: Proto): BerthError {
  return new BerthError('already-exists', `Bind for ${hostIp || '0.0.0.0'}:${port}${proto === 'tcp' ? '' : `/${proto}`} failed: port is already allocated`);
}

/** Binds the host port; EADDRINUSE becomes Docker's "port is already allocated". */
export async function openProxy(proto: Proto, hostIp: string, hostPort: number): Promise<PortProxy> {
  if (proto === 'sctp') throw new BerthError('invalid-argument', `cannot publish ${hostPort}/sctp: sctp ports are not supported`);
  const id = proxyThread.newId();
  const r = await proxyThread.ask({ op: 'open', id, proto, host: hostIp, port: hostPort });
  if (r.ok) return new ThreadProxy(proto, hostIp, hostPort, id);
  if (r.code === 'EADDRINUSE' || r.code === 'EACCES') throw inUse(hostIp, hostPort, proto);
  if (r.code === 'EADDRNOTAVAIL') throw new BerthError('invalid-argument', `cannot publish ${hostIp}:${hostPort}: the host has no address ${hostIp}`);
  throw new BerthError('internal', `cannot publish ${hostIp || '0.0.0.0'}:${hostPort}/${proto}: ${r.message}`);
}
