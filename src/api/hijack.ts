/**
 * Hijacked connections (attach, exec start): after the answer's headers the
 * connection carries raw bytes both ways. Clients ask with
 * `Upgrade: tcp` + `Connection: Upgrade` and get 101; older ones send
 * neither and get a plain 200 followed by the stream. Without a TTY the
 * bytes are stdcopy frames (stdcopy.ts); with one they are raw.
 */
import type { Duplex } from 'node:stream';
import type { RequestContext } from './context.js';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/**
 * Connections taken over in the plain 200 form. Node's HTTP parser stays on
 * such a socket, so bytes the client sends after its request are not
 * delivered as input: this form carries output only (every current client —
 * the docker CLI, docker-py, dockerode — asks for the upgrade). The server
 * keeps the parser's complaints about those bytes off the stream.
 */
export const plainHijacked = new WeakSet<Duplex>();

export interface Hijacked {
  /** the connection: write output, read input */
  socket: Duplex;
  /** true when the client asked for the upgrade (101), false for the plain 200 form */
  upgraded: boolean;
}

/** True when the request asked to be upgraded to a raw stream. */
export function wantsUpgrade(headers: Record<string, string | string[] | undefined>): boolean {
  const connection = String(headers.connection ?? '').toLowerCase();
  const upgrade = String(headers.upgrade ?? '').toLowerCase();
  return connection.split(',').some((t) => t.trim() === 'upgrade') && upgrade === 'tcp';
}

/**
 * Takes the connection over and writes the answer's status line and headers.
 * For an upgraded request the socket is already detached from the HTTP
 * parser (the server's 'upgrade' event); bytes that arrived with the
 * headers are put back in front of the input.
 */
export function hijack(ctx: RequestContext, contentType: string = RAW_STREAM): Hijacked {
  if (ctx.upgrade) {
    const { socket, head } = ctx.upgrade;
    if (head.length > 0) socket.unshift(head);
    socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    return { socket, upgraded: true };
  }
  // the plain form: the response is the stream, without chunking and closed at the end
  const socket = ctx.req.socket;
  ctx.res.detachSocket(socket);
  plainHijacked.add(socket);
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nConnection: close\r\n\r\n`);
  return { socket, upgraded: false };
}
