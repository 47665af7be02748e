/**
 * The Engine API's HTTP/1.1 server: one request handler for every listener
 * (unix sockets, TLS tcp). It takes the /v1.xx prefix off, negotiates the
 * version, routes, and answers every failure as Docker does: a JSON
 * {"message"} with the status of the error's kind. A handler's fault never
 * takes the server down.
 */
import { createServer as createHttpServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { rmSync } from 'node:fs';
import type { Logger } from '../common/log.js';
import { sendJson, type RequestContext } from './context.js';
import { plainHijacked } from './hijack.js';
import { checkTcpNeedsTls, listenOn, readTlsFiles, type ListenAddress, type TlsFiles } from './listeners.js';
import { Router, splitVersion, type Route } from './router.js';
import { clientErrorAnswer, errorResponse, HttpError, rawJsonResponse } from './status.js';
import { API_VERSION, negotiate } from './version.js';

/** The reason a request's signal gives once its response is over or the server stops. */
const REQUEST_ENDED = new Error('the request has ended');

export interface ApiServerOptions {
  routes: Route[];
  log: Logger;
  /** the engine's version, for the Server header */
  engineVersion: string;
  /** owner group of unix sockets (when it exists) */
  socketGroup?: string;
  tls?: TlsFiles;
}

export interface ApiServer {
  /** Starts serving on each address; a tcp address without TLS is refused before anything listens. */
  listen(addresses: ListenAddress[]): Promise<void>;
  /** Stops listening, ends streams and hijacked connections, removes the unix sockets. */
  close(): Promise<void>;
  /** The request handler (for tests that serve it themselves). */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * Connection limits: a client has 10 s to send its headers (slow loris
 * gets a 408), checked every second; the body has no deadline (image
 * loads and `docker cp` uploads may take long) and hijacked streams are
 * off the parser. Headers are capped at node's 16 KiB (431 beyond).
 * An idle keep-alive connection is kept for two minutes, not node's 5 s:
 * dockerd never closes idle ones, and a client that reuses a pooled
 * connection at the moment the server closes it gets EPIPE or ECONNRESET
 * (seen with node's own keep-alive agent, the default since node 19).
 */
const LIMITS = { headersTimeout: 10_000, requestTimeout: 0, connectionsCheckingInterval: 1000, keepAliveTimeout: 120_000, maxHeaderSize: 16 * 1024 };

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const router = new Router(opts.routes);
  const shutdown = new AbortController();
  const servers: { server: Server; addr: ListenAddress }[] = [];
  const hijacked = new Set<Duplex>();

  const setCommonHeaders = (res: ServerResponse): void => {
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    res.setHeader('Server', `Berth/${opts.engineVersion} (linux)`);
  };

  const fail = (res: ServerResponse, err: unknown, where: string): void => {
    const { status, message } = errorResponse(err);
    if (status >= 500) opts.log.error('request failed', { request: where, status, error: message });
    else opts.log.debug('request refused', { request: where, status, error: message });
    if (res.headersSent) { res.destroy(); return; }
    // a body left unread (refused early, or too large) is not drained: the connection ends with the answer
    const req = res.req as IncomingMessage | undefined;
    const hasBody = req !== undefined && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? '0') > 0);
    if (hasBody && !req.complete) res.setHeader('Connection', 'close');
    sendJson(res, status, { message });
  };

  const dispatch = async (req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Duplex; head: Buffer }): Promise<void> => {
    const method = req.method ?? 'GET';
    const where = `${method} ${req.url ?? ''}`;
    opts.log.debug('request', { request: where });
    setCommonHeaders(res);
    try {
      const url = new URL(req.url ?? '/', 'http://berth');
      const { version: asked, path } = splitVersion(url.pathname);
      const version = negotiate(asked);
      const match = router.match(method, path);
      if (match.kind === 'none') throw new HttpError(404, 'page not found');
      if (match.kind === 'wrong-method') {
        res.setHeader('Allow', match.allowed.join(', '));
        throw new HttpError(405, `method ${method} not allowed on ${path}`);
      }
      const aborted = new AbortController();
      // a reason made once: abort() without one builds a DOMException with a stack, at every
      // request's end (~20 µs of berthd's time per request in a profile)
      const onShutdown = (): void => aborted.abort(REQUEST_ENDED);
      shutdown.signal.addEventListener('abort', onShutdown);
      // the client going away (or the connection being taken over and closed) ends the work
      res.on('close', () => aborted.abort(REQUEST_ENDED));
      upgrade?.socket.on('close', () => aborted.abort(REQUEST_ENDED));
      const ctx: RequestContext = {
        method, path, version, params: match.params, query: url.searchParams, req, res,
        log: opts.log.with({ request: where }), signal: aborted.signal, upgrade,
      };
      try {
        await match.route.handler(ctx);
      } finally {
        shutdown.signal.removeEventListener('abort', onShutdown);
      }
    } catch (err) {
      fail(res, err, where);
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => { void dispatch(req, res); };

  /** `Upgrade: tcp` requests arrive here, their socket already detached from the parser. */
  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    hijacked.add(socket);
    socket.on('close', () => hijacked.delete(socket));
    socket.on('error', () => socket.destroy());
    // an answer that is not a hijack (an error, a route without one) is written as a normal response
    const res = new ServerResponse(req);
    res.assignSocket(socket as import('node:net').Socket);
    res.on('finish', () => socket.end());
    void dispatch(req, res, { socket, head });
  };

  const makeServer = (addr: ListenAddress): Server => {
    if (addr.kind === 'tcp') {
      const files = readTlsFiles(opts.tls!);
      // client certificates are required and checked against --tlscacert, as dockerd --tlsverify
      return createHttpsServer({ ...files, ...LIMITS, requestCert: true, rejectUnauthorized: true }, handle);
    }
    return createHttpServer(LIMITS, handle);
  };

  return {
    handle,
    async listen(addresses) {
      for (const addr of addresses) checkTcpNeedsTls(addr, opts.tls);
      for (const addr of addresses) {
        const server = makeServer(addr);
        server.on('upgrade', handleUpgrade);
        server.on('clientError', (err: Error & { code?: string }, socket) => {
          if (plainHijacked.has(socket)) return; // the stream's owner ends it
          const answer = clientErrorAnswer(err);
          opts.log.debug('connection refused', { status: answer.status, error: answer.message, code: err.code });
          const reply = (): void => { if (socket.writable) socket.end(rawJsonResponse(answer.status, answer.message)); else socket.destroy(); };
          // an earlier pipelined request still being answered goes out first: its client is owed that answer
          const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
          // (a request whose own body broke is not waited for: its handler waits for that body)
          const earlier = current && current.req.complete && !current.writableFinished && !current.destroyed;
          if (earlier) current.once('finish', reply).once('close', reply);
          else reply();
        });
        // CONNECT is no method of the Engine API: without this node drops the connection unanswered
        server.on('connect', (req: IncomingMessage, socket: Duplex) => {
          socket.on('error', () => socket.destroy());
          socket.end(rawJsonResponse(405, `method CONNECT not allowed on ${req.url ?? '/'}`));
        });
        await listenOn(server, addr, opts.socketGroup);
        servers.push({ server, addr });
        opts.log.info('API listening', { address: addr.spec });
      }
    },
    async close() {
      shutdown.abort();
      await Promise.all(servers.map(({ server, addr }) => new Promise<void>((resolve) => {
        server.close(() => resolve());
        // streams were told to end; give their last bytes a moment, then cut what is left
        setTimeout(() => server.closeAllConnections(), 200).unref();
        if (addr.kind === 'unix') rmSync(addr.path, { force: true });
      })));
      for (const s of hijacked) s.destroy();
      servers.length = 0;
    },
  };
}
