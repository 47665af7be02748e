/**
 * The Docker Engine API client of the CLI: HTTP/1.1 over a unix socket or
 * TCP, the API version negotiated once with `/_ping` (the lower of the
 * server's `API-Version` and ours), JSON calls, streams (JSON lines, raw
 * log bodies) and hijacked connections for attach and exec.
 */
import type { ClientRequestArgs, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { http } from './builtins.js';
import type { EngineAddress } from './host.js';

/** The newest API version this CLI speaks. */
export const CLIENT_API_VERSION = '1.47';
/** What the CLI assumes when the daemon does not say. */
const FALLBACK_API_VERSION = '1.24';

/** An error answered by the daemon: `{"message": …}` with its HTTP status. */
export class DaemonError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** The daemon could not be reached at all. */
export class ConnectError extends Error {}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  /** A raw body (a tar stream …) instead of JSON. */
  raw?: NodeJS.ReadableStream | Buffer;
}

/** Compares "1.41" and "1.47" numerically. */
export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return (am! - bm!) || (an! - bn!);
}

function queryString(q: Query | undefined): string {
  if (!q) return '';
  const parts = Object.entries(q).filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

async function readBody(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Docker's error body is JSON `{"message": …}`; anything else is shown as text. */
function errorMessage(body: Buffer, status: number): string {
  const text = body.toString('utf8').trim();
  try {
    const j = JSON.parse(text) as { message?: unknown };
    if (typeof j.message === 'string') return j.message;
  } catch { /* not JSON */ }
  return text || `${status} ${http().STATUS_CODES[status] ?? ''}`.trim();
}

export class EngineClient {
  private version: string | undefined;

  constructor(readonly address: EngineAddress, private readonly pinnedVersion?: string) {}

  /** The version the requests use, negotiated on first use. */
  async apiVersion(): Promise<string> {
    if (this.version) return this.version;
    if (this.pinnedVersion) return (this.version = this.pinnedVersion);
    const res = await this.send('GET', '/_ping', {});
    await readBody(res);
    const server = res.headers['api-version'];
    const s = typeof server === 'string' && /^\d+\.\d+$/.test(server) ? server : FALLBACK_API_VERSION;
    this.version = compareVersions(s, CLIENT_API_VERSION) < 0 ? s : CLIENT_API_VERSION;
    return this.version;
  }

  /**
   * Where a request goes: one connection per request, closed after it
   * (`agent: false`). The server name is for TLS, which this client never
   * speaks; left unset, the agent would work one out from the host for
   * every request, compiling Node's IPv6 regular expression (~3 ms of a
   * start).
   */
  private base(): ClientRequestArgs & { servername: string } {
    return this.address.kind === 'unix'
      ? { socketPath: this.address.path, host: 'api.berth', agent: false, servername: '' }
      : { host: this.address.host, port: this.address.port, agent: false, servername: '' };
  }

  /** One request, answered with the response head; connection failures become ConnectError. */
  private send(method: string, path: string, opts: RequestOptions, upgrade = false): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'User-Agent': 'Berth-Client/0.1.0', ...opts.headers };
      let payload: Buffer | undefined;
      if (opts.body !== undefined) {
        payload = Buffer.from(JSON.stringify(opts.body));
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = String(payload.length);
      } else if (Buffer.isBuffer(opts.raw)) {
        payload = opts.raw;
        headers['Content-Length'] = String(payload.length);
      }
      if (upgrade) { headers.Connection = 'Upgrade'; headers.Upgrade = 'tcp'; }
      const req = http().request({ ...this.base(), method, path: path + queryString(opts.query), headers });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTDIR', 'EHOSTUNREACH'].includes(err.code ?? '')) {
          reject(new ConnectError(`Cannot connect to the Berth daemon at ${this.address.text}. Is the berth daemon running?`));
        } else reject(err);
      });
      if (upgrade) {
        req.on('upgrade', (res, socket, head) => {
          if (head.length > 0) socket.unshift(head);
          (res as IncomingMessage & { hijacked?: Duplex }).hijacked = socket;
          resolve(res);
        });
      }
      req.on('response', resolve);
      if (payload) req.end(payload);
      else if (opts.raw) (opts.raw as NodeJS.ReadableStream).pipe(req);
      else req.end();
    });
  }

  private async versioned(path: string): Promise<string> {
    return `/v${await this.apiVersion()}${path}`;
  }

  /** A request whose non-2xx answer is thrown as DaemonError; the body is left unread. */
  async open(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const res = await this.send(method, await this.versioned(path), opts);
    if ((res.statusCode ?? 500) >= 400) throw new DaemonError(res.statusCode ?? 500, errorMessage(await readBody(res), res.statusCode ?? 500));
    return res;
  }

  /** A call whose answer is JSON (or empty: undefined). */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = await readBody(await this.open(method, path, opts));
    const text = body.toString('utf8').trim();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A call whose answer is text (or nothing). */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<string> {
    return (await readBody(await this.open(method, path, opts))).toString('utf8');
  }

  /** A JSON-lines stream (events, pull progress): one callback per object. */
  async jsonLines(method: string, path: string, opts: RequestOptions, onObject: (o: Record<string, unknown>, raw: string) => void): Promise<void> {
    const res = await this.open(method, path, opts);
    let rest = '';
    res.setEncoding('utf8');
    for await (const chunk of res) {
      rest += chunk as string;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl).trim();
        rest = rest.slice(nl + 1);
        if (line) onObject(JSON.parse(line) as Record<string, unknown>, line);
      }
    }
    if (rest.trim()) onObject(JSON.parse(rest) as Record<string, unknown>, rest.trim());
  }

  /** A hijacked connection (attach, exec start): the raw duplex after the HTTP upgrade. */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<Duplex> {
    const res = await this.send(method, await this.versioned(path), opts, true) as IncomingMessage & { hijacked?: Duplex };
    if (res.hijacked) return res.hijacked;
    if ((res.statusCode ?? 500) >= 400) throw new DaemonError(res.statusCode ?? 500, errorMessage(await readBody(res), res.statusCode ?? 500));
    // a daemon that answered 200 without upgrading still streams on the response
    return res.socket;
  }
}
