/**
 * Waiting, in one place (in the manner of Deno std's `async/`): {@linkcode delay}
 * that a signal ends early, {@linkcode waitUntil} for the few things only a poll
 * can see (another process's state), {@linkcode withTimeout} to wait for a
 * promise at most so long, and the one backoff ({@linkcode backoffMs},
 * {@linkcode nextRetry}: doubling from two seconds, or from `firstSeconds`, up
 * to a cap; pure). Every wait measures with the monotonic clock.
 *
 * @module
 */

/**
 * Resolves after `ms`, or at once when `options.signal` aborts (already
 * aborted: at once). True when the time passed, false when the signal ended it.
 */
export function delay(ms: number, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  const { signal } = options;
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Options for {@linkcode waitUntil}. */
export interface WaitUntilOptions {
  /** Gives up after this long (monotonic ms) and returns the last value. */
  timeoutMs: number;
  /** Time between probes (default 200 ms). */
  intervalMs?: number;
  /** Stops probing (the last value is returned). */
  signal?: AbortSignal;
}

/**
 * Probes until `done(value)` holds, the timeout passes or the signal aborts;
 * returns the last value probed (so the caller decides what a timeout means).
 */
export async function waitUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  options: WaitUntilOptions,
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  let value = await probe();
  while (!done(value) && performance.now() < deadline && !options.signal?.aborted) {
    await delay(Math.min(options.intervalMs ?? 200, Math.max(0, deadline - performance.now())), {
      signal: options.signal,
    });
    value = await probe();
  }
  return value;
}

/**
 * `promise`'s value, or `undefined` once `ms` passed first (the promise is
 * left running; its rejection after the timeout is caught). The timer is
 * cleared either way.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), ms)
  );
  promise.catch(() => {});
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Queues of one, by key: each call runs once every call before it with the
 * same key has settled (a failed one does not stop the next), so writes of
 * one file land in the order they were asked for even when each takes its
 * own time. Calls with other keys do not wait; an idle key is forgotten.
 */
export function serially(): <T>(run: () => Promise<T>, key?: string) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(run: () => Promise<T>, key = ""): Promise<T> => {
    const next = (tails.get(key) ?? Promise.resolve()).then(run, run);
    const tail = next.catch(() => {});
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return next;
  };
}

/**
 * Delay in milliseconds before retry number `failures` (1 = first retry):
 * `firstSeconds` (default 2) doubling per failure, at most `capSeconds`.
 */
export function backoffMs(
  failures: number,
  options: { capSeconds: number; firstSeconds?: number },
): number {
  const first = options.firstSeconds ?? 2;
  const seconds = Math.min(options.capSeconds, first * 2 ** Math.max(0, failures - 1));
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

/** The retry after one more failure at `now` (monotonic ms). */
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
