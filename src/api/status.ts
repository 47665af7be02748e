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
