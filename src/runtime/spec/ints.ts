/**
 * Helpers for the config's 64-bit integers (`Int64` = number | bigint).
 */
import type { Int64 } from './types.js';

export const U64_MAX = (1n << 64n) - 1n;
export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;

/** The exact value as a bigint. */
export function toBigInt(v: Int64): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** The decimal text of the value (what cgroup files and the plan take). */
export function int64String(v: Int64): string {
  return toBigInt(v).toString();
}

/** True for the spec's "unlimited" marker, -1. */
export function isUnlimited(v: Int64 | undefined): boolean {
  return v !== undefined && toBigInt(v) === -1n;
}

/**
 * A number when the value fits exactly, else a bigint: what parseJson
 * produces, for code that computes new values.
 */
export function normalizeInt64(v: bigint): Int64 {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
