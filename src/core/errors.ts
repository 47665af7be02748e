/**
 * Berth's error kinds at the gRPC boundary, both ways (containerd's errdefs):
 * a server turns a thrown error into a status, a client turns a status back
 * into a BerthError of the same kind with the server's message, so callers
 * branch on `kind`, never on message text.
 */
import { status as Code, Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { BerthError, type ErrorKind, describeSystemError } from '../common/errors.js';

const toCode: Record<ErrorKind, Code> = {
  'not-found': Code.NOT_FOUND,
  'already-exists': Code.ALREADY_EXISTS,
  'invalid-argument': Code.INVALID_ARGUMENT,
  'failed-precondition': Code.FAILED_PRECONDITION,
  'unavailable': Code.UNAVAILABLE,
  'permission-denied': Code.PERMISSION_DENIED,
  'internal': Code.INTERNAL,
};

const fromCode = new Map<Code, ErrorKind>([
  [Code.NOT_FOUND, 'not-found'],
  [Code.ALREADY_EXISTS, 'already-exists'],
  [Code.INVALID_ARGUMENT, 'invalid-argument'],
  [Code.FAILED_PRECONDITION, 'failed-precondition'],
  [Code.UNAVAILABLE, 'unavailable'],
  [Code.PERMISSION_DENIED, 'permission-denied'],
]);

export function codeOfKind(kind: ErrorKind): Code {
  return toCode[kind];
}

/** UNIMPLEMENTED, DEADLINE_EXCEEDED and the rest have no kind of their own. */
export function kindOfCode(code: Code): ErrorKind {
  return fromCode.get(code) ?? 'internal';
}

/**
 * The longest message a status carries. It travels in an HTTP/2 trailer
 * (grpc-message), and a trailer past the peer's header-list limit is dropped
 * with the whole response, leaving the caller waiting: a 100 KB image name
 * echoed in "not found" did exactly that.
 */
export const MAX_STATUS_DETAILS = 4096;

function capped(message: string): string {
  return message.length <= MAX_STATUS_DETAILS ? message : `${message.slice(0, MAX_STATUS_DETAILS - 15)}… (truncated)`;
}

/** What a server sends for a thrown error. */
export function toStatus(err: unknown): Partial<StatusObject> {
  if (err instanceof BerthError) return { code: toCode[err.kind], details: capped(err.message), metadata: new Metadata() };
  return { code: Code.INTERNAL, details: capped(describeSystemError(err)), metadata: new Metadata() };
}

/** The BerthError a client sees for a failed call; `code` keeps the gRPC code. */
export class CoreCallError extends BerthError {
  readonly code: Code;
  constructor(code: Code, message: string, cause?: unknown) {
    super(kindOfCode(code), message, { cause });
    this.code = code;
  }
}

export function fromServiceError(err: ServiceError | Error): CoreCallError {
  const e = err as Partial<ServiceError>;
  const code = typeof e.code === 'number' ? e.code : Code.UNKNOWN;
  const message = typeof e.details === 'string' && e.details !== '' ? e.details : err.message;
  return new CoreCallError(code, message, err);
}
