/**
 * A registry's refusal as a BerthError: the distribution spec's error body
 * (`{"errors":[{"code","message","detail"}]}`) gives the code and message,
 * the HTTP status gives the kind (401/403 → permission-denied, 404 →
 * not-found, 5xx/429 → unavailable, the rest → failed-precondition, 400 →
 * invalid-argument).
 */
import { BerthError, type ErrorKind } from '../../common/errors.js';

export class RegistryError extends BerthError {
  /** the registry's first error code ("MANIFEST_UNKNOWN"), "" when it sent none */
  readonly code: string;
  readonly status: number;
  constructor(kind: ErrorKind, message: string, code: string, status: number) {
    super(kind, message);
    this.name = 'RegistryError';
    this.code = code;
    this.status = status;
  }
}

export function kindOfStatus(status: number): ErrorKind {
  if (status === 401 || status === 403) return 'permission-denied';
  if (status === 404) return 'not-found';
  if (status === 429 || status >= 500) return 'unavailable';
  if (status === 400) return 'invalid-argument';
  return 'failed-precondition';
}

interface ErrorBody { errors?: { code?: unknown; message?: unknown }[] }

function parseErrors(body: Buffer): { code: string; message: string }[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as ErrorBody;
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors.map((e) => ({ code: typeof e.code === 'string' ? e.code : '', message: typeof e.message === 'string' ? e.message : '' }));
  } catch {
    return [];
  }
}

/**
 * The error for a response with `status` and `body` from `host`; the
 * registry's own words when it sent any ("manifest unknown"), else the
 * status line. Access refusals name the registry.
 */
export function registryError(host: string, status: number, body: Buffer): RegistryError {
  const errors = parseErrors(body);
  const kind = kindOfStatus(status);
  const words = errors.length
    ? errors.map((e) => (e.message || e.code.toLowerCase().replace(/_/g, ' '))).join('; ')
    : `${status} ${statusText(status)}`;
  const message = kind === 'permission-denied' ? `${host} denied access: ${words}` : kind === 'unavailable' ? `${host} failed: ${words}` : words;
  return new RegistryError(kind, message, errors[0]?.code ?? '', status);
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: 'bad request', 401: 'unauthorized', 403: 'forbidden', 404: 'not found', 405: 'method not allowed',
    409: 'conflict', 413: 'payload too large', 416: 'range not satisfiable', 429: 'too many requests',
    500: 'internal server error', 502: 'bad gateway', 503: 'service unavailable', 504: 'gateway timeout',
  };
  return texts[status] ?? 'unexpected status';
}
