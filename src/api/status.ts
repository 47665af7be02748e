/**
 * Errors as the Engine API returns them: a JSON body {"message": "…"} and a
 * status chosen by the error's kind. Routes throw BerthErrors; an HttpError
 * is for the few statuses no kind names (401 on a failed login, 405).
 */
import { BerthError, describeSystemError, type ErrorKind } from '../common/errors.js';

export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

const STATUS: Record<ErrorKind, number> = {
  'invalid-argument': 400,
  'not-found': 404,
  'already-exists': 409,
  'failed-precondition': 409,
  'permission-denied': 403,
  unavailable: 503,
  internal: 500,
};

export function statusOfKind(kind: ErrorKind): number {
  return STATUS[kind];
}

/** The status and message a thrown value is answered with. */
export function errorResponse(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  if (err instanceof BerthError) return { status: statusOfKind(err.kind), message: err.message };
  return { status: 500, message: describeSystemError(err) };
}

/** What a request the HTTP parser refused is answered with, by node's error code. */
export function clientErrorAnswer(err: Error & { code?: string; reason?: string }): { status: number; message: string } {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT': return { status: 408, message: 'request timeout: the headers did not arrive in time' };
    case 'HPE_HEADER_OVERFLOW': return { status: 431, message: 'request header fields too large: at most 16 KiB of headers' };
    case 'HPE_CHUNK_SIZE': case 'HPE_INVALID_CHUNK_SIZE': return { status: 400, message: 'malformed HTTP request: invalid chunk size in a chunked body' };
    case 'HPE_UNEXPECTED_CONTENT_LENGTH': return { status: 400, message: 'malformed HTTP request: both Content-Length and Transfer-Encoding' };
    case 'HPE_INVALID_CONTENT_LENGTH': return { status: 400, message: 'malformed HTTP request: invalid Content-Length' };
    case 'HPE_INVALID_TRANSFER_ENCODING': return { status: 400, message: 'malformed HTTP request: invalid Transfer-Encoding' };
    case 'HPE_INVALID_METHOD': return { status: 405, message: 'malformed HTTP request: unknown method' };
    case 'HPE_INVALID_VERSION': return { status: 400, message: 'malformed HTTP request: only HTTP/1.0 and HTTP/1.1 are spoken' };
    default: {
      const reason = err.reason ?? err.message;
      return { status: 400, message: `malformed HTTP request${reason ? `: ${reason.toLowerCase()}` : ''}` };
    }
  }
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/** A whole HTTP/1.1 answer, for the sockets no ServerResponse serves (parser errors, CONNECT); the connection closes after it. */
export function rawJsonResponse(status: number, message: string): string {
  const body = JSON.stringify({ message }) + '\n';
  return `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
