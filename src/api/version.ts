/**
 * Engine API versions: Berth serves the shapes of 1.41 to 1.47. A request
 * names its version in the path (/v1.45/containers/json) or, without one,
 * gets the current default. Versions compare numerically per component
 * (1.9 < 1.41), as Docker compares them.
 */
import { BerthError } from '../common/errors.js';

export const MIN_API_VERSION = '1.41';
export const API_VERSION = '1.47';

/** -1, 0 or 1 as a is older than, equal to or newer than b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export const versionLessThan = (a: string, b: string): boolean => compareVersions(a, b) < 0;
export const versionAtLeast = (a: string, b: string): boolean => compareVersions(a, b) >= 0;

/**
 * The version a request is served with: the one it named, or the default.
 * Outside the supported range: an invalid-argument error worded as dockerd's.
 */
export function negotiate(requested: string | undefined): string {
  if (requested === undefined || requested === '') return API_VERSION;
  if (compareVersions(requested, API_VERSION) > 0) {
    throw new BerthError('invalid-argument', `client version ${requested} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  if (compareVersions(requested, MIN_API_VERSION) < 0) {
    throw new BerthError('invalid-argument', `client version ${requested} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  return requested;
}
