/**
 * The engine's clock: a monotonic reading for every duration (idle, age,
 * backoff, timeouts) and wall time only for timestamps people read
 * (DESIGN.md invariant 13). Injected, so tests can step wall time.
 *
 * @module
 */

/** Monotonic milliseconds plus wall time. */
export interface Clock {
  /** Monotonic milliseconds (`performance.now()`): never steps back. */
  now(): number;
  /** Wall-clock time, for timestamps shown to people and written to the branch. */
  wall(): Date;
}

/** The process clock. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wall: () => new Date(),
};

/** Converts a monotonic reading to the wall time it corresponds to now. */
export function wallAt(clock: Clock, monotonic: number): Date {
  return new Date(clock.wall().getTime() - (clock.now() - monotonic));
}
