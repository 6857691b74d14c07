/**
 * The one seeded PRNG of the tests, benchmarks and soak (mulberry32): a failing run names its seed,
 * and the same seed replays it exactly. Without a seed it takes FAULTS_SEED, else a fresh one.
 * Call it for a number in [0, 1), or use its helpers.
 */
export interface Random {
  (): number;
  readonly seed: number;
  /** [0, 1) */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed = Number(process.env.FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31))): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.assign(next, {
    seed,
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
  });
}
