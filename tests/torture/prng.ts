/**
 * A small seeded pseudo-random generator (mulberry32) so that every torture
 * sequence is a pure function of its seed and can be replayed.
 *
 * @module
 */

/** A seeded source of pseudo-random numbers. */
export interface Prng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of `items` (which must not be empty). */
  pick<T>(items: readonly T[]): T;
  /** One key of `weights`, chosen with probability proportional to its weight. */
  weighted<K extends string>(weights: Partial<Record<K, number>>): K;
}

/** Mixes `seed` and `salt` into a new 32-bit seed (for independent sub-streams). */
export function mixSeed(seed: number, salt: number): number {
  let h = (seed ^ Math.imul(salt + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Creates a mulberry32 generator for `seed`. */
export function mulberry32(seed: number): Prng {
  let state = seed >>> 0;
  function next(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    weighted<K extends string>(weights: Partial<Record<K, number>>): K {
      const entries = Object.entries(weights) as [K, number][];
      const total = entries.reduce((sum, [, weight]) => sum + Math.max(0, weight), 0);
      let x = next() * total;
      for (const [key, weight] of entries) {
        if (weight <= 0) continue;
        x -= weight;
        if (x < 0) return key;
      }
      return entries.filter(([, weight]) => weight > 0).at(-1)![0];
    },
  };
}
