/**
 * The OCI resources are written in cgroup v1 terms; cgroup v2 files take
 * other units. These are the conversions, the same ones every runtime uses
 * so a container gets the same limits under runc, crun and Berth.
 */
import { invalidArgument } from '../../common/errors.js';

/** cpu.shares (2–262144) → cpu.weight (1–10000). 0 = unset. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

/** blkio weight (10–1000) → io.weight (1–10000). 0 = unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return Math.floor(1 + ((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap (v1 memsw); v2's memory.swap.max is swap
 * alone. Returns the memory.swap.max value, or undefined to leave it alone.
 */
export function swapToV2(swap: number | undefined, limit: number | undefined): string | undefined {
  if (swap === undefined || swap === 0) return undefined;
  if (swap === -1) return 'max';
  if (limit === undefined || limit === 0) {
    throw invalidArgument(`invalid memory swap ${swap}: a swap limit needs a memory limit`);
  }
  if (limit === -1) throw invalidArgument(`invalid memory swap ${swap}: the memory limit is unlimited`);
  if (swap < limit) throw invalidArgument(`invalid memory swap ${swap}: memory+swap must not be lower than the memory limit ${limit}`);
  return String(swap - limit);
}

/** A limit in bytes for a v2 file: -1 = "max". */
export function v2Limit(n: number): string {
  return n === -1 ? 'max' : String(n);
}

/** cpu.max: "quota period", "max period" for no quota. */
export function cpuMax(quota: number | undefined, period: number | undefined, current: string): string {
  const [curQuota = 'max', curPeriod = '100000'] = current.trim().split(/\s+/);
  const q = quota === undefined ? curQuota : quota > 0 ? String(quota) : 'max';
  const p = period === undefined || period === 0 ? curPeriod : String(period);
  return `${q} ${p}`;
}

/** "major:minor" for a device number pair. */
export function devNumber(major: number, minor: number): string {
  return `${major}:${minor}`;
}
