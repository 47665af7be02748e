/**
 * Hijacked connections (attach, exec start): after the answer's headers the
 * connection carries raw bytes both ways. Clients ask with
 * `Upgrade: tcp` + `Connection: Upgrade` and get 101; older ones send
 * neither and get a plain 200 followed by the stream. Without a TTY the
 * bytes are stdcopy frames (stdcopy.ts); with one they are raw.
 */
import type { Duplex } from 'node:stream';
import { invalidArgument } from '../common/errors.js';
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
  /** resolves once the response's head has left this process (is in the kernel's hands) */
  headSent: Promise<void>;
}

/** Writes the response's head; resolves when the write is done (or failed: the socket says so then). */
function writeHead(socket: Duplex, head: string): Promise<void> {
  return new Promise((resolve) => { socket.write(head, () => resolve()); });
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
    const headSent = writeHead(socket, `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    return { socket, upgraded: true, headSent };
  }
  // the plain form: the response is the stream, without chunking and closed at the end
  const socket = ctx.req.socket;
  ctx.res.detachSocket(socket);
  plainHijacked.add(socket);
  const headSent = writeHead(socket, `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nConnection: close\r\n\r\n`);
  return { socket, upgraded: false, headSent };
}

/** The next bytes a paused socket gives; an error when it ends first. */
function nextBytes(socket: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const finish = (err: Error | undefined, chunk?: Buffer): void => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (err) reject(err); else resolve(chunk!);
    };
    const onReadable = (): void => { const c = socket.read() as Buffer | null; if (c !== null) finish(undefined, c); };
    const onEnd = (): void => finish(invalidArgument('request body incomplete: the connection closed before its end'));
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    onReadable();
  });
}

/**
 * The JSON body of an upgraded request (exec start's {"Detach","Tty"}).
 * Node's parser stops at the headers of an `Upgrade` request, so its body
 * arrives in `head` and on the socket, in front of the stream's input: it is
 * taken off here (Content-Length bytes) and the rest stays the input.
 */
export async function readUpgradedJsonObject(ctx: RequestContext, what: string, limit = 1 << 20): Promise<Record<string, unknown> | undefined> {
  const up = ctx.upgrade!;
  const want = Number(ctx.req.headers['content-length'] ?? '0');
  if (!Number.isSafeInteger(want) || want <= 0) return undefined;
  if (want > limit) throw invalidArgument(`request body too large: ${want} bytes, at most ${limit}`);
  let got = up.head;
  while (got.length < want) got = Buffer.concat([got, await nextBytes(up.socket)]);
  up.head = got.subarray(want);
  const text = got.subarray(0, want).toString('utf8');
  if (text.trim() === '') return undefined;
  let v: unknown;
  try { v = JSON.parse(text); } catch (err) { throw invalidArgument(`invalid JSON: ${(err as Error).message}`); }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`invalid JSON: ${what} must be an object`);
  return v as Record<string, unknown>;
}
