/**
 * When a remote's waiting work may be pushed. Pure: facts and times in, a
 * monotonic time out.
 *
 * @module
 */
import type { RecordingState } from "../../chunk/mod.ts";

/**
 * True when a generation's waiting work must be pushed at once: a chunk cut
 * because the terminal went quiet, ended or `run --once` asked (the person may
 * be about to close the laptop), its manifest, or a backlog: a chunk cut by
 * size (`max_chunk_bytes` were waiting: the file is a whole chunk ahead of the
 * backup). Only age cuts of a busy terminal wait `push_interval_seconds` to
 * share a push: the interval keeps a busy terminal's commit rate low, it never
 * makes a backlog wait.
 */
export function isUrgent(state: RecordingState): boolean {
  if (state.final && !state.manifest_pushed) return true;
  return state.pending.some((chunk) => chunk.reason !== "age");
}

/** The facts {@linkcode pushNotBefore} decides on. */
export interface PushTimingInput {
  /** The generations with work for this remote. */
  sources: RecordingState[];
  /**
   * True when a recording for this remote is being cut or due a cut. Read
   * only when some of `sources` is {@linkcode isUrgent}: a caller may leave
   * it false otherwise, without asking.
   */
  cutting: boolean;
  /** Monotonic now (ms). */
  now: number;
  /** Wall now (ms since the epoch): chunk cut times are wall times. */
  wallNow: number;
  /** `push_interval_seconds` in ms. */
  intervalMs: number;
  /** `push_batch_bytes`: a backlog being cut is pushed once half of it waits. */
  batchBytes: number;
  /** Monotonic time of the last successful push, or null. */
  lastSuccess: number | null;
}

/**
 * When a remote's waiting work may be pushed: now when any of it is urgent
 * and nothing for the remote is being cut. While cuts go on, once they end
 * (their end wakes the queue), or once half a `push_batch_bytes` of chunks
 * waits — a backlog is pushed as it is cut, in pushes big enough that a
 * remote keeps them as one pack instead of unpacking (and zlib-compressing)
 * every object — and at most `push_interval_seconds` after the oldest
 * waiting chunk was cut. Work that is not urgent waits
 * `push_interval_seconds` after the oldest waiting chunk was cut and after
 * the last push, so busy recordings' chunks share pushes.
 */
export function pushNotBefore(input: PushTimingInput): number {
  const { sources, now, wallNow, intervalMs } = input;
  const oldest = earliest(sources.flatMap((state) => state.pending.map((chunk) => chunk.cut_at)));
  if (sources.some(isUrgent)) {
    if (!input.cutting) return 0;
    const waiting = sources.reduce(
      (sum, state) => sum + state.pending.reduce((bytes, chunk) => bytes + chunk.bytes, 0),
      0,
    );
    if (waiting >= input.batchBytes / 2) return 0;
    const cutAgo = oldest === null ? 0 : Math.max(0, wallNow - Date.parse(oldest));
    return now + Math.max(0, intervalMs - cutAgo);
  }
  const cutAt = oldest === null ? -Infinity : now - Math.max(0, wallNow - Date.parse(oldest));
  return Math.max(cutAt + intervalMs, (input.lastSuccess ?? -Infinity) + intervalMs);
}

/** The earliest of some ISO times (null ones skipped), or null. */
export function earliest(times: (string | null | undefined)[]): string | null {
  let best: string | null = null;
  for (const time of times) {
    if (time && (best === null || Date.parse(time) < Date.parse(best))) best = time;
  }
  return best;
}
