/**
 * Digests of bytes, in the "<algorithm>:<hex>" form descriptors carry, and
 * the check every fetched manifest and blob goes through.
 */
import { createHash } from 'node:crypto';
import { BerthError } from '../../common/errors.js';

const ALGORITHMS = new Set(['sha256', 'sha384', 'sha512']);

export function algorithmOf(digest: string): string {
  const alg = digest.slice(0, digest.indexOf(':'));
  if (!ALGORITHMS.has(alg)) throw new BerthError('invalid-argument', `unsupported digest ${JSON.stringify(digest)}`);
  return alg;
}

export function digestOf(data: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Throws `failed-precondition` naming `what` when `data` does not have `expected` digest. */
export function verifyDigest(data: Buffer, expected: string, what: string): void {
  const actual = digestOf(data, algorithmOf(expected));
  if (actual !== expected) throw new BerthError('failed-precondition', `${what}: digest mismatch: expected ${expected}, got ${actual}`);
}
