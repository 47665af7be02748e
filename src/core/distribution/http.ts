/**
 * The HTTP exchange under the registry client, on node:http/node:https:
 * they give the per-request TLS choice an insecure registry needs (no
 * certificate check) without an extra dependency, the response as a Node
 * stream, and a socket idle timeout that covers connecting, waiting for the
 * headers and every pause in the body. Redirects are followed here (blob
 * downloads are redirected to storage hosts); credentials are never sent to
 * another origin.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { BerthError, describeSystemError } from '../../common/errors.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: Method;
  url: URL;
  headers: Record<string, string>;
  /** a Buffer (replayable) or a stream (sent once) */
  body?: Buffer | Readable;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** where the answer finally came from, after redirects */
  url: URL;
  body: IncomingMessage;
}

const MAX_REDIRECTS = 5;
/** Bodies up to this size are sent at once: the wait for an answer starts with the request. */
const SMALL_BODY = 1024 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Errors that mean "TLS is not spoken there": the cue to fall back to http for an insecure registry. */
export function isTlsFailure(err: unknown): boolean {
  const code = (err as BerthError).errno ?? '';
  return code === 'EPROTO' || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'ECONNRESET';
}

/** Keep-alive agents for one registry; `insecure` turns off certificate checks (dockerd's insecure registries). */
export class Agents {
  readonly http = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  readonly https: HttpsAgent;
  constructor(insecure: boolean) {
    this.https = new HttpsAgent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: !insecure });
  }
  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** A network failure in words; the message of our own timeout is kept as is. */
export function describeNetworkError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  if (code === 'ETIMEDOUT' && e.message.startsWith('no answer')) return e.message;
  if (code === 'EPROTO' || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) return `tls: ${e.message.split('\n')[0]}`;
  return NETWORK_WORDS[code] ?? describeSystemError(err);
}

function networkError(req: HttpRequest, err: unknown): BerthError {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? 'ECONNRESET';
  return new BerthError('unavailable', `${req.method} ${req.url.origin}${req.url.pathname}: ${describeNetworkError(err)}`, { cause: err, errno: code });
}

function once(req: HttpRequest, agents: Agents): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const https = req.url.protocol === 'https:';
    const headers: Record<string, string> = { ...req.headers };
    if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
    const r = (https ? httpsRequest : httpRequest)(req.url, {
      method: req.method, headers, agent: https ? agents.https : agents.http, timeout: req.timeoutMs,
    });
    let timedOut: Error | undefined;
    const expire = (): void => {
      timedOut = Object.assign(new Error(`no answer within ${req.timeoutMs} ms`), { code: 'ETIMEDOUT' });
      r.destroy(timedOut);
    };
    // the socket's idle timeout watches uploads and bodies; this timer the wait for the headers once the request is sent
    r.on('timeout', expire);
    // (a big body starts the wait when it is sent: 'finish' does not come while a TLS handshake hangs, hence small ones start now)
    let headersTimer: NodeJS.Timeout | undefined;
    const startWait = (): void => { clearTimeout(headersTimer); headersTimer = setTimeout(expire, req.timeoutMs); };
    if (req.body === undefined || (Buffer.isBuffer(req.body) && req.body.length <= SMALL_BODY)) startWait();
    else r.on('finish', startWait);
    // a TLS socket destroyed mid-handshake reports a hang-up: our timeout is the real reason
    r.on('error', (err) => { clearTimeout(headersTimer); reject(err instanceof BerthError ? err : networkError(req, timedOut ?? err)); });
    r.on('response', (res) => {
      clearTimeout(headersTimer);
      // the idle timeout keeps watching the body; an error after this point surfaces on the stream
      res.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url: req.url, body: res });
    });
    if (req.body === undefined) r.end();
    else if (Buffer.isBuffer(req.body)) r.end(req.body);
    else {
      req.body.on('error', (err) => r.destroy(err));
      req.body.pipe(r);
    }
  });
}

/** One request, following redirects for reads; the response body is left for the caller to consume. */
export async function send(req: HttpRequest, agents: Agents): Promise<HttpResponse> {
  let current = req;
  for (let hop = 0; ; hop++) {
    const res = await once(current, agents);
    const location = res.headers.location;
    const follow = REDIRECTS.has(res.status) && location && (current.method === 'GET' || current.method === 'HEAD');
    if (!follow || hop >= MAX_REDIRECTS) return res;
    res.body.resume();
    const next = new URL(location, current.url);
    const headers = { ...current.headers };
    if (next.origin !== current.url.origin) delete headers.authorization;
    current = { ...current, url: next, headers };
  }
}

/** Reads a whole (small) body; more than `limit` bytes is refused. */
export async function readBody(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > limit) {
    res.body.destroy();
    throw new BerthError('failed-precondition', `${what} is ${declared} bytes, more than the ${limit} allowed`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        res.body.destroy();
        throw new BerthError('failed-precondition', `${what} is more than the ${limit} bytes allowed`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new BerthError('unavailable', `cannot read ${what}: ${describeNetworkError(err)}`, { cause: err, errno: (err as NodeJS.ErrnoException).code ?? 'ECONNRESET' });
  }
  return Buffer.concat(chunks);
}

export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
