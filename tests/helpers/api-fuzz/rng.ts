/**
 * A small seeded generator (mulberry32): the same seed gives the same
 * cases, so a failure is replayed with BERTH_FUZZ_SEED=<seed>.
 */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** The seed to use: $BERTH_FUZZ_SEED when set, else a fresh one. */
/**
 * The run's seed: BERTH_FUZZ_SEED=<n> replays one, =random draws one (for
 * long runs by hand); unset, a fixed seed, so the suite is reproducible.
 */
export const DEFAULT_FUZZ_SEED = 77;

export function fuzzSeed(): number {
  const env = process.env.BERTH_FUZZ_SEED;
  if (env !== undefined && /^[0-9]+$/.test(env)) return Number(env) >>> 0;
  if (env === 'random') return Math.floor(Math.random() * 2 ** 32);
  return DEFAULT_FUZZ_SEED;
}
