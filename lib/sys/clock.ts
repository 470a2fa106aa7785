/**
 * The one clock: a monotonic reading for every duration (idle, age, backoff,
 * timeouts, throttles) and wall time only for timestamps people read
 * (DESIGN.md invariant 13). The engine, the notification policy and the
 * token cache take it as an option, so tests step time instead of sleeping.
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

/** The process clock: `performance.now()` and `new Date()`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wall: () => new Date(),
};

/** Converts a monotonic reading to the wall time it corresponds to now. */
export function wallAt(clock: Clock, monotonic: number): Date {
  return new Date(clock.wall().getTime() - (clock.now() - monotonic));
}

/**
 * Wall milliseconds that advance with the monotonic reading: taken from the
 * wall clock once, so a step of the system clock never shortens or stretches
 * a duration measured against wall times (an outage's `since`).
 */
export function steadyWall(clock: Clock): () => number {
  const anchor = clock.wall().getTime() - clock.now();
  return () => anchor + clock.now();
}
