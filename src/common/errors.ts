/**
 * Berth's error convention, shared by every layer (see ARCHITECTURE.md):
 * a small set of kinds, each mapping to an exit code, an HTTP status and a
 * gRPC code at the boundaries. Messages are short and lowercase and say what
 * was being done, with which object, and why:
 *   cannot start container web: port 8080 already in use
 * Library code throws `BerthError`s; context is added where the work is known
 * (`wrap`), never by parsing message text.
 */
export type ErrorKind =
  | 'invalid-argument' // the caller's input is wrong (bad flag, bad config field)
  | 'not-found' // the named object does not exist
  | 'already-exists' // an object with that name or id exists
  | 'failed-precondition' // the object is in the wrong state for this
  | 'permission-denied'
  | 'unavailable' // a needed service or kernel feature is missing
  | 'internal'; // a bug or an unexpected system failure

export class BerthError extends Error {
  readonly kind: ErrorKind;
  readonly errno: string | undefined;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown; errno?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BerthError';
    this.kind = kind;
    this.errno = options?.errno;
  }
}

export const invalidArgument = (m: string, cause?: unknown): BerthError => new BerthError('invalid-argument', m, { cause });
export const notFound = (m: string): BerthError => new BerthError('not-found', m);
export const alreadyExists = (m: string): BerthError => new BerthError('already-exists', m);
export const failedPrecondition = (m: string): BerthError => new BerthError('failed-precondition', m);
export const unavailable = (m: string): BerthError => new BerthError('unavailable', m);

/** A Node system error (ENOENT, EACCES …) in words a person can read. */
export function describeSystemError(err: unknown): string {
  if (err instanceof BerthError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string') {
    const words: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EEXIST: 'file exists',
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      EBUSY: 'device or resource busy',
      EINVAL: 'invalid argument',
      ENOTDIR: 'not a directory',
      EISDIR: 'is a directory',
      ENOSPC: 'no space left on device',
      ESRCH: 'no such process',
      ENOTEMPTY: 'directory not empty',
      ETIMEDOUT: 'timed out',
      // better-sqlite3's code when the database's disk is full (a WAL or page that cannot grow)
      SQLITE_FULL: 'no space left on device (database full)',
    };
    return words[e.code] ?? e.code.toLowerCase();
  }
  return err instanceof Error ? err.message : String(err);
}

/** Adds what was being done to an error, keeping its kind. */
export function wrap(context: string, err: unknown): BerthError {
  if (err instanceof BerthError) {
    return new BerthError(err.kind, `${context}: ${err.message}`, { cause: err, errno: err.errno });
  }
  const e = err as NodeJS.ErrnoException;
  const code = e && typeof e === 'object' ? e.code : undefined;
  const kind: ErrorKind = code === 'ENOENT' ? 'not-found'
    : code === 'EEXIST' ? 'already-exists'
    : code === 'EACCES' || code === 'EPERM' ? 'permission-denied'
    : 'internal';
  return new BerthError(kind, `${context}: ${describeSystemError(err)}`, { cause: err, errno: code });
}

/** Exit code of a command line that failed with this error (runc uses 1 throughout). */
export function exitCodeOf(_err: unknown): number {
  return 1;
}
