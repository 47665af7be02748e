/**
 * What a route handler gets: the matched parameters, the query, the API
 * version the request is served with, the raw request and response (for
 * streams and hijacks), and the body read once, capped, as bytes or JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalidArgument } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { HttpError } from './status.js';

export type Handler = (ctx: RequestContext) => Promise<void> | void;

/** JSON request bodies larger than this are refused (413): no route takes more. */
export const MAX_JSON_BODY = 16 * 1024 * 1024;

export interface RequestContext {
  method: string;
  /** the path without its /v1.xx prefix */
  path: string;
  version: string;
  params: Record<string, string>;
  query: URLSearchParams;
  req: IncomingMessage;
  res: ServerResponse;
  log: Logger;
  /** aborted when the client goes away or the server shuts down: streams end on it */
  signal: AbortSignal;
  /** set for a request that asked for `Upgrade: tcp`: its connection, detached from the HTTP parser */
  upgrade?: { socket: Duplex; head: Buffer };
}

/** Reads the whole body, refusing more than `limit` bytes. */
export function readBody(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) { reject(new HttpError(413, `request body too large: ${declared} bytes, at most ${limit}`)); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    // the client half-closed (or went away) mid-body: nothing more will come
    const cut = (): void => { if (!req.complete) reject(new HttpError(400, 'request body incomplete: the client closed the connection before its end')); };
    const socket = req.socket;
    socket.once('end', cut);
    const settle = (): void => { socket.off('end', cut); };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) { req.pause(); settle(); reject(new HttpError(413, `request body too large: more than ${limit} bytes`)); return; }
      chunks.push(c);
    });
    req.on('end', () => { settle(); resolve(Buffer.concat(chunks)); });
    req.on('error', (err) => { settle(); reject(err); });
    req.on('close', cut);
  });
}

function isJsonType(ct: string | undefined): boolean {
  if (ct === undefined || ct === '') return true;
  return ct.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * The body as JSON: undefined when empty; a non-JSON content type or a
 * malformed document is a 400 naming the problem. Unknown fields are kept,
 * handlers read what they know (Docker tolerates them).
 */
export async function readJson(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<unknown> {
  const body = await readBody(req, limit);
  if (body.length === 0 || body.toString().trim() === '') return undefined;
  const ct = req.headers['content-type'];
  if (!isJsonType(ct)) throw invalidArgument(`unsupported Content-Type header (${ct}): must be 'application/json'`);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${(err as Error).message}`);
  }
}

/** The body as a JSON object (undefined when empty); any other JSON value is a 400. */
export async function readJsonObject(req: IncomingMessage, what: string): Promise<Record<string, unknown> | undefined> {
  const v = await readJson(req);
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`invalid JSON: ${what} must be an object`);
  return v as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}
