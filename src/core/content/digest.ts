/**
 * Digests as the content store accepts them: `sha256:` and 64 lowercase hex
 * digits. They become file names under `blobs/sha256/`, so nothing else may
 * pass.
 */
import { createHash } from 'node:crypto';
import { invalidArgument } from '../../common/errors.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** Throws `invalid-argument` unless value is a sha256 digest; returns it. */
export function checkDigest(value: string): string {
  if (!DIGEST.test(value)) {
    throw invalidArgument(`invalid digest ${JSON.stringify(value)}: expected sha256: followed by 64 lowercase hex digits`);
  }
  return value;
}

/** The hex part of a checked digest: the blob's file name. */
export function hexOf(digest: string): string {
  return checkDigest(digest).slice('sha256:'.length);
}

export function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
