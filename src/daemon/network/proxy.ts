/**
 * The userland proxy of a published port, in berthd's process (docker-proxy's
 * role): it holds the host port (so a second publish of it fails at bind,
 * before anything is made) and forwards what the kernel's DNAT does not
 * rewrite — IPv6 clients of a wildcard port, connections made while the
 * rules are being rewritten. TCP: a connection per client; UDP: a socket
 * per client address, closed after a quiet minute and a half.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { BerthError } from '../../common/errors.js';
import type { Proto } from './ports.js';

const UDP_IDLE_MS = 90_000;

export interface Target { ip: string; port: number }

export interface PortProxy {
  readonly proto: Proto;
  readonly hostIp: string;
  readonly hostPort: number;
  /** where connections go; until set, TCP clients are closed and datagrams dropped */
  target?: Target;
  close(): Promise<void>;
}

function inUse(hostIp: string, port: number, proto: Proto): BerthError {
  return new BerthError('already-exists', `Bind for ${hostIp || '0.0.0.0'}:${port}${proto === 'tcp' ? '' : `/${proto}`} failed: port is already allocated`);
}

function listenTcp(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer({ noDelay: true });
    srv.once('error', reject);
    srv.listen({ host, port, exclusive: true, ipv6Only: false }, () => { srv.off('error', reject); resolve(srv); });
  });
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
    s.once('error', reject);
    s.bind({ address: host, port, exclusive: true }, () => { s.off('error', reject); resolve(s); });
  });
}

/** Where a wildcard port listens: both stacks when the host has IPv6, else IPv4. */
async function wildcard<T>(fn: (host: string) => Promise<T>): Promise<T> {
  try { return await fn('::'); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAFNOSUPPORT' || (err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') return fn('0.0.0.0');
    throw err;
  }
}

class TcpProxy implements PortProxy {
  readonly proto = 'tcp' as const;
  target?: Target;
  private readonly conns = new Set<Socket>();

  constructor(readonly hostIp: string, readonly hostPort: number, private readonly srv: Server) {
    srv.on('connection', (c) => this.accept(c));
  }

  private accept(client: Socket): void {
    const t = this.target;
    if (!t) { client.destroy(); return; }
    const up = connect({ host: t.ip, port: t.port, noDelay: true });
    this.conns.add(client); this.conns.add(up);
    const end = (): void => { client.destroy(); up.destroy(); this.conns.delete(client); this.conns.delete(up); };
    client.on('error', end); up.on('error', end);
    client.on('close', end); up.on('close', end);
    client.pipe(up); up.pipe(client);
  }

  close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    return new Promise((r) => this.srv.close(() => r()));
  }
}

class UdpProxy implements PortProxy {
  readonly proto = 'udp' as const;
  target?: Target;
  private readonly peers = new Map<string, { sock: UdpSocket; timer: NodeJS.Timeout }>();

  constructor(readonly hostIp: string, readonly hostPort: number, private readonly sock: UdpSocket) {
    sock.on('message', (msg, from) => this.forward(msg, from));
    sock.on('error', () => undefined);
  }

  private forward(msg: Buffer, from: RemoteInfo): void {
    const t = this.target;
    if (!t) return;
    const key = `${from.address}/${from.port}`;
    let peer = this.peers.get(key);
    if (!peer) {
      const s = createSocket('udp4');
      s.on('message', (reply) => { this.touch(key); this.sock.send(reply, from.port, from.address); });
      s.on('error', () => this.drop(key));
      peer = { sock: s, timer: setTimeout(() => this.drop(key), UDP_IDLE_MS) };
      this.peers.set(key, peer);
    }
    this.touch(key);
    peer.sock.send(msg, t.port, t.ip);
  }

  private touch(key: string): void {
    const p = this.peers.get(key);
    if (p) p.timer.refresh();
  }

  private drop(key: string): void {
    const p = this.peers.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    try { p.sock.close(); } catch { /* closed */ }
    this.peers.delete(key);
  }

  close(): Promise<void> {
    for (const k of [...this.peers.keys()]) this.drop(k);
    return new Promise((r) => { try { this.sock.close(() => r()); } catch { r(); } });
  }
}

/** Binds the host port; EADDRINUSE becomes Docker's "port is already allocated". */
export async function openProxy(proto: Proto, hostIp: string, hostPort: number): Promise<PortProxy> {
  if (proto === 'sctp') throw new BerthError('invalid-argument', `cannot publish ${hostPort}/sctp: sctp ports are not supported`);
  try {
    if (proto === 'tcp') {
      const srv = hostIp ? await listenTcp(hostIp, hostPort) : await wildcard((h) => listenTcp(h, hostPort));
      return new TcpProxy(hostIp, hostPort, srv);
    }
    const sock = hostIp ? await bindUdp(hostIp, hostPort) : await wildcard((h) => bindUdp(h, hostPort));
    return new UdpProxy(hostIp, hostPort, sock);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw inUse(hostIp, hostPort, proto);
    if (code === 'EADDRNOTAVAIL') throw new BerthError('invalid-argument', `cannot publish ${hostIp}:${hostPort}: the host has no address ${hostIp}`);
    throw err;
  }
}
