/**
 * Retry delays: doubling from two seconds up to a cap. Pure.
 *
 * @module
 */

/** Delay in milliseconds before retry number `failures` (1 = first retry). */
export function backoffMs(failures: number, options: { capSeconds: number }): number {
  const seconds = Math.min(options.capSeconds, 2 * 2 ** Math.max(0, failures - 1));
  return seconds * 1000;
}

/** A retry timer: how many failures in a row, and when the next try is due (monotonic ms). */
export interface Retry {
  /** Failures in a row. */
  failures: number;
  /** When the next attempt is due (monotonic ms). */
  at: number;
  /** The last error. */
  error: string;
}

/** The retry after one more failure at `now`. */
export function nextRetry(
  previous: Retry | null,
  failure: { now: number; error: string; capSeconds: number },
): Retry {
  const failures = (previous?.failures ?? 0) + 1;
  return {
    failures,
    at: failure.now + backoffMs(failures, { capSeconds: failure.capSeconds }),
    error: failure.error,
  };
}
