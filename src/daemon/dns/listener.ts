/**
 * One network's server sockets: UDP and TCP on the network's gateway
 * address, port 53 when free (another port otherwise: the containers reach
 * it through a DNAT rule that names the port, so nothing depends on 53).
 * Every query goes to one handler with the transport it came on and the
 * asker's address; TCP connections carry several queries, each with its
 * two-byte length, and are dropped when idle.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { wrap } from '../../common/errors.js';

export type Transport = 'udp' | 'tcp';
export type QueryHandler = (query: Buffer, transport: Transport, source: string) => Promise<Buffer | undefined>;

export const TCP_IDLE_MS = 10_000;
const PREFERRED_PORT = 53;

export interface ListenerAddress { host: string; udpPort: number; tcpPort: number }

export class DnsListener {
  private readonly conns = new Set<Socket>();

  private constructor(private readonly udp: UdpSocket, private readonly tcp: Server, readonly address: ListenerAddress) {}

  static async open(host: string, handler: QueryHandler): Promise<DnsListener> {
    const udp = await bindUdp(host, handler);
    let tcp: Server;
    try {
      tcp = await listenTcp(host);
    } catch (err) {
      udp.close();
      throw err;
    }
    const l = new DnsListener(udp, tcp, { host, udpPort: udp.address().port, tcpPort: (tcp.address() as { port: number }).port });
    tcp.on('connection', (c) => l.serveTcp(c, handler));
    return l;
  }

  private serveTcp(conn: Socket, handler: QueryHandler): void {
    this.conns.add(conn);
    conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
    conn.on('close', () => this.conns.delete(conn));
    conn.on('error', () => conn.destroy());
    let buf = Buffer.alloc(0);
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const query = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + query.length);
        void handler(query, 'tcp', conn.remoteAddress ?? '').then((answer) => {
          if (answer === undefined || conn.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(answer.length);
          conn.write(Buffer.concat([len, answer]));
        });
      }
    });
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await Promise.all([
      new Promise<void>((r) => this.udp.close(() => r())),
      new Promise<void>((r) => this.tcp.close(() => r())),
    ]);
  }
}

async function bindUdp(host: string, handler: QueryHandler): Promise<UdpSocket> {
  const tryPort = (port: number): Promise<UdpSocket> => new Promise((resolve, reject) => {
    const s = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    s.once('error', (err) => { s.close(); reject(err); });
    s.bind(port, host, () => {
      s.removeAllListeners('error');
      s.on('error', () => { /* a failed send to one client is that client's loss */ });
      s.on('message', (msg, rinfo) => {
        void handler(msg, 'udp', rinfo.address).then((answer) => {
          if (answer !== undefined) s.send(answer, rinfo.port, rinfo.address);
        });
      });
      resolve(s);
    });
  });
  return withFallback(host, 'udp', tryPort);
}

async function listenTcp(host: string): Promise<Server> {
  const tryPort = (port: number): Promise<Server> => new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ port, host, exclusive: true }, () => { s.removeListener('error', reject); resolve(s); });
  });
  return withFallback(host, 'tcp', tryPort);
}

/** Port 53, or any free port when 53 is taken on this address (a host resolver bound to the wildcard). */
async function withFallback<T>(host: string, what: string, tryPort: (port: number) => Promise<T>): Promise<T> {
  try {
    return await tryPort(PREFERRED_PORT);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw wrap(`cannot listen for dns on ${host} (${what})`, err);
    try {
      return await tryPort(0);
    } catch (again) {
      throw wrap(`cannot listen for dns on ${host} (${what})`, again);
    }
  }
}
